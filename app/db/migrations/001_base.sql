-- Forward-only migrations; numbers by area: 001-009 base, 010-019 audit, 020-029 identity,
-- 030-039 compliance, 040-049 policy.
create table if not exists service_info (key text primary key, value text not null);
