export { ObjectLockBucket, type ObjectLockBucketProps, type ObjectLockMode, type AppendPrincipal } from "./object-lock-bucket";
