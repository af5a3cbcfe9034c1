/**
 * The server-wide state that health and metrics report besides their own counts: the thermal
 * level, the circuit breaker and whether the server is draining — the same values the protocol's
 * `status` frame carries, read from the gateway's protections when asked.
 */
import type { StatusFrame } from '../../machines/protocol.ts';

export type ThermalStatus = StatusFrame['thermal'];
export type BreakerStatus = StatusFrame['breaker'];
export type ThermalState = ThermalStatus['state'];
export type BreakerState = BreakerStatus['state'];

export const thermalStates: readonly ThermalState[] = [
  'unavailable',
  'normal',
  'throttled',
  'critical',
];
export const breakerStates: readonly BreakerState[] = ['closed', 'open', 'halfOpen'];

export interface SystemStatus {
  thermal(): ThermalStatus;
  breaker(): BreakerStatus;
  /** Not admitting new work: draining for shutdown, or stopped. */
  draining(): boolean;
}

/** What of the gateway this reads (the gateway satisfies it). */
export interface StatusSources {
  readonly thermal: { status(): ThermalStatus };
  readonly breaker: { status(): BreakerStatus };
  readonly draining: boolean;
}

export function systemStatusFrom(gateway: StatusSources): SystemStatus {
  return {
    thermal: () => gateway.thermal.status(),
    breaker: () => gateway.breaker.status(),
    draining: () => gateway.draining,
  };
}
