DROP TABLE group_members;
DROP TABLE account_groups;
