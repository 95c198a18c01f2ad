-- What an export needs of each entry, stored at append (INSERT, under the chain lock, beside the
-- hash it already computes) so that a signed pack neither re-encodes nor re-hashes the log:
-- leaf_hash = the RFC 6962 leaf, SHA-256(0x00 || canonicalEntry); pack_json = the entry as the
-- signed pack holds it (canonicalJson of the entry as read back). Both are derived from the
-- hashed columns and held under the same append-only triggers and privileges; a pack is never
-- trusted for them: verify:export recomputes every hash, leaf and byte from the pack's entries.
-- Rows written before this migration keep NULL (UPDATE is refused on audit_log) and are
-- computed at export. Not part of the hashed content.
alter table audit_log add column if not exists leaf_hash bytea;
alter table audit_log add column if not exists pack_json text;
alter table audit_log drop constraint if exists audit_log_pack_bytes_together;
alter table audit_log add constraint audit_log_pack_bytes_together check ((leaf_hash is null) = (pack_json is null) and (leaf_hash is null or octet_length(leaf_hash) = 32));
