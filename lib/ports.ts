/** Well-known ports (docs/reference/injection.md, "Ports"): the sidecar's and the control plane's. */
export const Port = {
  EnvoyAdmin: 15000,
  OutboundCapture: 15001,
  InboundCapture: 15006,
  PilotXds: 15010,
  XdsMtls: 15012,
  Monitoring: 15014,
  Injector: 15017,
  AgentStatus: 15020,
  Readiness: 15021,
  EnvoyPrometheus: 15090,
  PilotHttp: 8080,
  MixerGrpc: 9091,
  MixerPrometheus: 42422,
  CaGrpc: 8060,
} as const;
