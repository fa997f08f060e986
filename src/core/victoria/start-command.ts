/**
 * The command every "start VictoriaMetrics" hint gives, in one place. -search.latencyOffset=0 makes
 * a fresh push visible to queries at once (by default the last 30 s are hidden); the long retention
 * keeps samples pushed with past timestamps (spooled, replayed) instead of dropping them.
 */
export const VM_START_COMMAND = 'victoria-metrics -storageDataPath=/tmp/vm-data -retentionPeriod=100y -search.latencyOffset=0';
