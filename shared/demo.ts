// The demo customer: seeded by `npm start` in development (scripts/lib/demo-seed.ts), signed in
// by the Sandbox's example operations (gateway/src/landing-page.ts) and by `npm run demo`.
// One definition, so the three never disagree. Development data only: never seeded in production.

export const DEMO_CUSTOMER = {
  email: 'customer@example.com',
  password: 'customer-password',
  name: 'Demo Customer',
} as const;
