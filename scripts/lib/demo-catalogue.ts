// The catalogue `npm start` seeds in development: a few categories, stock in two warehouses.
// SKUs start with DEMO- so they are easy to tell from a user's own products.

export interface DemoProduct {
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly priceCents: number;
  /** Units available per warehouse. */
  readonly stock: Readonly<Record<DemoWarehouse, number>>;
}

export const DEMO_WAREHOUSES = ['main', 'north'] as const;
export type DemoWarehouse = (typeof DEMO_WAREHOUSES)[number];

type Row = [sku: string, name: string, description: string, priceCents: number, main: number, north: number];

function category(name: string, rows: Row[]): DemoProduct[] {
  return rows.map(([sku, productName, description, priceCents, main, north]) => ({
    sku: `DEMO-${sku}`,
    name: productName,
    description,
    category: name,
    priceCents,
    stock: { main, north },
  }));
}

export const DEMO_PRODUCTS: readonly DemoProduct[] = [
  ...category('coffee', [
    ['COF-ESPRESSO', 'Espresso beans, 1 kg', 'Dark roast, chocolate and hazelnut.', 2490, 40, 25],
    ['COF-FILTER', 'Filter coffee, 500 g', 'Light roast from Ethiopia, floral.', 1390, 60, 30],
    ['COF-GRINDER', 'Hand grinder', 'Ceramic burrs, 30 g hopper.', 4900, 12, 8],
    ['COF-KETTLE', 'Pour-over kettle', 'Gooseneck, 1 litre, stainless steel.', 3900, 15, 5],
    ['COF-DRIPPER', 'Ceramic dripper', 'Size 02, white.', 2200, 25, 10],
  ]),
  ...category('kitchen', [
    ['KIT-MUG', 'Blue mug', 'Stoneware, 350 ml.', 1299, 50, 25],
    ['KIT-KNIFE', "Chef's knife", '20 cm, carbon steel.', 8900, 8, 4],
    ['KIT-BOARD', 'Oak cutting board', '40 x 25 cm, end grain.', 5400, 10, 6],
    ['KIT-PAN', 'Cast-iron pan', '26 cm, pre-seasoned.', 4500, 14, 7],
    ['KIT-TOWELS', 'Linen tea towels, set of 3', 'Washed linen, natural.', 1800, 30, 20],
  ]),
  ...category('books', [
    ['BOO-BREAD', 'Bread at home', 'Sourdough from starter to loaf.', 2800, 20, 10],
    ['BOO-FERMENT', 'The fermentation notebook', 'Kimchi, kefir, kombucha.', 3200, 15, 10],
    ['BOO-COFFEE', 'A coffee atlas', 'Origins, roasts and brewing.', 3500, 12, 6],
    ['BOO-KNOTS', 'Knots for the outdoors', 'Forty knots, drawn step by step.', 1500, 25, 15],
    ['BOO-STARS', 'The night sky', 'A field guide for the northern hemisphere.', 2400, 18, 9],
  ]),
  ...category('outdoor', [
    ['OUT-BOTTLE', 'Steel water bottle', 'Insulated, 750 ml.', 2900, 35, 20],
    ['OUT-LAMP', 'Head lamp', '300 lumens, rechargeable.', 3900, 20, 12],
    ['OUT-BLANKET', 'Picnic blanket', 'Wool, waterproof underside.', 6500, 9, 6],
    ['OUT-STOVE', 'Camping stove', 'Folding, gas cartridge.', 5900, 7, 3],
    ['OUT-MUG', 'Enamel camp mug', '400 ml, white with blue rim.', 1100, 40, 30],
  ]),
];
