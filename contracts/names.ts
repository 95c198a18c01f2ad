// The name and key shapes every layer checks (config, constructs, the service's settings): one
// pattern each, so a value config accepts is one the construct and the service accept too.

/** A DNS-1123 label: Kubernetes namespaces, Services, ServiceAccounts, database names. */
export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsLabelRule = "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)";

/** An S3 key folder: one or more segments of [a-z0-9-], ending in '/' (audit/, maestro/audit/): the WORM sink's. */
export const keyFolderPattern = /^[a-z0-9-]+(\/[a-z0-9-]+)*\/$/;
export const keyFolderRule = "must be a key prefix of [a-z0-9-] segments ending in '/' such as audit/";

/** The same without the trailing '/': WAL-G's prefix (s3://bucket/<prefix>). */
export const keyPrefixPattern = /^[a-z0-9-]+(\/[a-z0-9-]+)*$/;
export const keyPrefixRule = "must be a key prefix of [a-z0-9-] segments without leading or trailing '/'";

/** An S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending alphanumeric. */
export const s3BucketNamePattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const s3BucketNameRule = "must be a valid S3 bucket name (3-63 lowercase letters, digits, '.', '-')";
