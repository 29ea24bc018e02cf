-- Groups (issue 17): a namespace's named sets of accounts that carry grants. An account holds
-- its own grants plus those of every group it is a member of (ADR 0015); members may live in
-- any namespace. Deleting an account or a group ends its memberships.
CREATE TABLE account_groups (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    namespace TEXT COLLATE "C" NOT NULL REFERENCES namespaces (slug),
    name TEXT NOT NULL,
    description TEXT,
    permissions TEXT NOT NULL DEFAULT '[]',
    version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX account_groups_namespace_name ON account_groups (namespace, name);
CREATE INDEX account_groups_namespace_id ON account_groups (namespace, id);

CREATE TABLE group_members (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES account_groups (id) ON DELETE CASCADE,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
-- What every authenticated request reads: the groups of one account.
CREATE INDEX group_members_account ON group_members (account_id, group_id);
