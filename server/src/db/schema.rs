//! The tables, written once for both backends (see `migrations/sqlite` and `migrations/postgres`).

diesel::table! {
    namespaces (slug) {
        slug -> Text,
        display_name -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        namespace -> Text,
        username -> Nullable<Text>,
        username_key -> Nullable<Text>,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        email_verified -> Bool,
        phone_number -> Nullable<Text>,
        phone_number_verified -> Bool,
        name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        attributes -> Text,
        permissions -> Text,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        client_id -> Text,
        name -> Text,
        owner_account_id -> Nullable<Text>,
        permissions -> Text,
        grant_types -> Text,
        redirect_uris -> Text,
        password_grant_enabled -> Bool,
        user_namespace -> Nullable<Text>,
        disabled -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    client_secrets (id) {
        id -> Text,
        client_id -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        time -> Timestamp,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        actor_owner_account_id -> Nullable<Text>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        namespace -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        changes -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_chain_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    idempotency_keys (key_hash) {
        key_hash -> Text,
        request_hash -> Text,
        status -> Integer,
        location -> Nullable<Text>,
        body -> Binary,
        created_at -> Timestamp,
    }
}

diesel::joinable!(accounts -> namespaces (namespace));
diesel::joinable!(clients -> accounts (owner_account_id));
diesel::joinable!(client_secrets -> clients (client_id));

diesel::allow_tables_to_appear_in_same_query!(
    namespaces,
    accounts,
    clients,
    client_secrets,
    audit_events,
    audit_chain_head,
    idempotency_keys,
);
