export {
  BlueGreenRollout,
  sloGateMountPath,
  sloGateScriptPath,
  type BlueGreenRolloutProps,
  type EnvSecretRef,
  type EnvValue,
  type ResourceQuantities,
  type ServiceLevelObjective,
  type SloGate,
  type SloGateProps,
} from "./blue-green-rollout";
