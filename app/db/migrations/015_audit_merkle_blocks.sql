-- The Merkle tree's complete subtrees of 256 entries, stored at append: block k is the RFC 6962
-- root of the leaves of entries k*256+1 .. (k+1)*256, computed in the database (one statement,
-- audit_block_root) by the transaction that appends entry (k+1)*256 (under the chain lock). An export takes a block's hash instead of hashing its
-- 256 leaves, and a range export reads the blocks before it, not the entries. Derived data, never
-- trusted by a verifier (verify:export recomputes the root from the pack's entries). Blocks of
-- entries written before migration 014 (no stored leaves) are not stored; exports hash those.
-- Append-only like audit_log: the same triggers and the same two privileges for the service.
create table if not exists audit_merkle_blocks (
  block bigint primary key check (block >= 0),
  hash bytea not null check (octet_length(hash) = 32)
);
-- RFC 6962 root of leaves (a power of two of them): node = SHA-256(0x01 || left || right), level by level.
create or replace function audit_block_root(leaves bytea[]) returns bytea language plpgsql immutable as $$ declare level bytea[] := leaves; up bytea[]; i int; begin while array_length(level, 1) > 1 loop up := '{}'; i := 1; while i <= array_length(level, 1) loop if i < array_length(level, 1) then up := up || sha256('\x01'::bytea || level[i] || level[i + 1]); else up := up || level[i]; end if; i := i + 2; end loop; level := up; end loop; return level[1]; end $$;
drop trigger if exists audit_merkle_blocks_append_only on audit_merkle_blocks;
create trigger audit_merkle_blocks_append_only before update or delete on audit_merkle_blocks for each row execute function audit_log_refuse_change();
drop trigger if exists audit_merkle_blocks_no_truncate on audit_merkle_blocks;
create trigger audit_merkle_blocks_no_truncate before truncate on audit_merkle_blocks for each statement execute function audit_log_refuse_change();
revoke update, delete, truncate on audit_merkle_blocks from public;
do $$ begin if exists (select 1 from pg_roles where rolname = 'maestro_service') then revoke all on audit_merkle_blocks from maestro_service; grant select, insert on audit_merkle_blocks to maestro_service; end if; end $$;
