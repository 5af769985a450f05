// @apollo/gateway 2.14 phones home unless told not to: it probes cloud metadata endpoints (AWS,
// GCP, Azure, Alibaba) and exports usage metrics to Apollo. A self-hosted gateway should not,
// so this module, imported before @apollo/gateway, turns that off unless the operator has said
// otherwise (APOLLO_TELEMETRY_DISABLED=false opts in).
if (!process.env.APOLLO_TELEMETRY_DISABLED?.trim()) process.env.APOLLO_TELEMETRY_DISABLED = 'true';

export const apolloTelemetryEnabled = !['true', '1'].includes(process.env.APOLLO_TELEMETRY_DISABLED ?? '');
