/**
 * The extract stage's source: realistic e-commerce data made with faker (customers, products,
 * orders), appended straight into DuckDB. Orders arrive raw, as an upstream system would send
 * them: prices and timestamps as text. With an error rate, some orders get exactly one defect
 * each, of a known kind, so every quality and error metric can be checked against what was injected.
 */
import { Faker, base, en } from '@faker-js/faker';
import type { DuckDBConnection } from '@duckdb/node-api';

export const DEFECTS = [
  'missing_customer', // null_required
  'negative_quantity', // out_of_range
  'negative_price', // out_of_range
  'unparseable_price', // type_conversion
  'unparseable_timestamp', // type_conversion
  'exact_duplicate', // exact_duplicate
  'conflicting_duplicate', // duplicate_key
  'unknown_product', // unknown_foreign_key
  'future_timestamp', // future_timestamp
] as const;
export type Defect = (typeof DEFECTS)[number];

/** Which error each defect must produce: [stage, error_type]. */
export const DEFECT_ERROR: Record<Defect, [string, string]> = {
  missing_customer: ['quality', 'null_required'],
  negative_quantity: ['quality', 'out_of_range'],
  negative_price: ['quality', 'out_of_range'],
  unparseable_price: ['transform', 'type_conversion'],
  unparseable_timestamp: ['transform', 'type_conversion'],
  exact_duplicate: ['transform', 'exact_duplicate'],
  conflicting_duplicate: ['quality', 'duplicate_key'],
  unknown_product: ['quality', 'unknown_foreign_key'],
  future_timestamp: ['quality', 'future_timestamp'],
};

export interface GenerateOptions {
  rows: number;
  seed: number;
  errorRate: number;
  now: Date;
  /** Orders are spread over this many seconds before now. */
  spanSeconds?: number;
}

export interface GenerateResult {
  orders: number;
  customers: number;
  products: number;
  injected: Record<Defect, number>;
}

interface RawOrder {
  order_id: number;
  customer_id: number | null;
  product_id: number;
  quantity: number;
  unit_price: string;
  ordered_at: string;
  channel: string;
  status: string;
}

const CHANNELS = ['web', 'mobile_app', 'marketplace', 'store'];
const STATUSES = ['paid', 'paid', 'paid', 'shipped', 'shipped', 'delivered', 'cancelled', 'refunded'];
const SEGMENTS = ['consumer', 'consumer', 'consumer', 'business', 'vip'];

/** "2026-11-22 10:30:00.123", in UTC: the raw text form of a timestamp. */
function rawTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

export const RAW_TABLES_SQL = `
CREATE OR REPLACE TABLE raw_customers (customer_id INTEGER, name VARCHAR, email VARCHAR, country VARCHAR, segment VARCHAR, signup_at TIMESTAMP);
CREATE OR REPLACE TABLE raw_products (product_id INTEGER, name VARCHAR, category VARCHAR, list_price DOUBLE);
CREATE OR REPLACE TABLE raw_orders (ingest_seq BIGINT, order_id BIGINT, customer_id INTEGER, product_id INTEGER, quantity INTEGER,
  unit_price VARCHAR, ordered_at VARCHAR, channel VARCHAR, status VARCHAR);
`;

export async function generateRawData(conn: DuckDBConnection, opts: GenerateOptions): Promise<GenerateResult> {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(opts.seed);
  const nowMs = opts.now.getTime();
  faker.setDefaultRefDate(opts.now);
  const span = (opts.spanSeconds ?? 3600) * 1000;
  const nCustomers = Math.max(50, Math.min(100_000, Math.ceil(opts.rows / 20)));
  const nProducts = Math.max(20, Math.min(2_000, Math.ceil(opts.rows / 500)));
  await conn.run(RAW_TABLES_SQL);

  const customers = await conn.createAppender('raw_customers');
  for (let id = 1; id <= nCustomers; id++) {
    const first = faker.person.firstName();
    const last = faker.person.lastName();
    customers.appendInteger(id);
    customers.appendVarchar(`${first} ${last}`);
    customers.appendVarchar(faker.internet.email({ firstName: first, lastName: last }).toLowerCase());
    customers.appendVarchar(faker.location.countryCode());
    customers.appendVarchar(faker.helpers.arrayElement(SEGMENTS));
    customers.appendNull();
    customers.endRow();
  }
  customers.closeSync();
  await conn.run(`UPDATE raw_customers SET signup_at = TIMESTAMP '${rawTimestamp(nowMs)}' - to_days((customer_id * 7919) % 1500)`);

  const products = await conn.createAppender('raw_products');
  const prices: number[] = [0];
  for (let id = 1; id <= nProducts; id++) {
    const price = Number(faker.commerce.price({ min: 2, max: 800, dec: 2 }));
    prices.push(price);
    products.appendInteger(id);
    products.appendVarchar(faker.commerce.productName());
    products.appendVarchar(faker.commerce.department());
    products.appendDouble(price);
    products.endRow();
  }
  products.closeSync();

  const injected = Object.fromEntries(DEFECTS.map((d) => [d, 0])) as Record<Defect, number>;
  const orders = await conn.createAppender('raw_orders');
  // The last clean order, which duplicates copy (so a duplicate carries exactly one defect).
  let prev: RawOrder | null = null;
  let nextOrderId = 100_000_001;
  let variant = 0; // makes each conflicting duplicate of the same order differ from the others
  for (let seq = 0; seq < opts.rows; seq++) {
    let row: RawOrder = {
      order_id: nextOrderId,
      customer_id: faker.number.int({ min: 1, max: nCustomers }),
      product_id: faker.number.int({ min: 1, max: nProducts }),
      quantity: faker.number.int({ min: 1, max: 5 }),
      unit_price: '',
      ordered_at: rawTimestamp(nowMs - faker.number.int({ min: 1000, max: span })),
      channel: faker.helpers.arrayElement(CHANNELS),
      status: faker.helpers.arrayElement(STATUSES),
    };
    row.unit_price = (prices[row.product_id] * (1 - faker.number.int({ min: 0, max: 30 }) / 100)).toFixed(2);
    let defect: Defect | null = null;
    if (opts.errorRate > 0 && faker.number.float() < opts.errorRate) {
      defect = faker.helpers.arrayElement(DEFECTS);
      if ((defect === 'exact_duplicate' || defect === 'conflicting_duplicate') && prev === null) defect = 'missing_customer';
    }
    switch (defect) {
      case 'missing_customer':
        row.customer_id = null;
        break;
      case 'negative_quantity':
        row.quantity = -row.quantity;
        break;
      case 'negative_price':
        row.unit_price = `-${row.unit_price}`;
        break;
      case 'unparseable_price':
        row.unit_price = faker.helpers.arrayElement(['N/A', 'twelve', '12,50 EUR', '']);
        break;
      case 'unparseable_timestamp':
        row.ordered_at = faker.helpers.arrayElement(['31/02/2026 25:61', 'yesterday', '2026-13-45 00:00:00']);
        break;
      case 'exact_duplicate':
        row = { ...prev! };
        break;
      case 'conflicting_duplicate':
        row = { ...prev!, quantity: prev!.quantity + ++variant };
        break;
      case 'unknown_product':
        row.product_id = nProducts + faker.number.int({ min: 1, max: 1000 });
        break;
      case 'future_timestamp':
        row.ordered_at = rawTimestamp(nowMs + faker.number.int({ min: 3600, max: 30 * 86400 }) * 1000);
        break;
      case null:
        break;
    }
    if (defect) injected[defect]++;
    if (defect !== 'exact_duplicate' && defect !== 'conflicting_duplicate') nextOrderId++;
    orders.appendBigInt(BigInt(seq));
    orders.appendBigInt(BigInt(row.order_id));
    if (row.customer_id === null) orders.appendNull();
    else orders.appendInteger(row.customer_id);
    orders.appendInteger(row.product_id);
    orders.appendInteger(row.quantity);
    orders.appendVarchar(row.unit_price);
    orders.appendVarchar(row.ordered_at);
    orders.appendVarchar(row.channel);
    orders.appendVarchar(row.status);
    orders.endRow();
    if (defect === null) {
      prev = row;
      variant = 0;
    }
  }
  orders.closeSync();
  return { orders: opts.rows, customers: nCustomers, products: nProducts, injected };
}
