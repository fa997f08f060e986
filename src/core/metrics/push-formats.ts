/** How metrics can be pushed to VictoriaMetrics: its own module, so flags can name them without loading the pushing code. */
export const PUSH_FORMATS = ['prometheus', 'influx', 'none'] as const;
export type PushFormat = (typeof PUSH_FORMATS)[number];
