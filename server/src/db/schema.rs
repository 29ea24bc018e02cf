//! The tables, written once for both backends (see `migrations/sqlite` and `migrations/postgres`).

diesel::table! {
    namespaces (slug) {
        slug -> Text,
        display_name -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        mfa -> Text,
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
        tokens_valid_after -> Nullable<Timestamp>,
        registration_expires_at -> Nullable<Timestamp>,
        external_id -> Nullable<Text>,
        scim -> Text,
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
        token_endpoint_auth_method -> Text,
        access_token_ttl -> Nullable<Integer>,
        access_token_alg -> Text,
        post_logout_redirect_uris -> Text,
        attribute_claims -> Text,
        require_pkce -> Bool,
        tokens_valid_after -> Nullable<Timestamp>,
        skip_consent -> Bool,
        registration_enabled -> Bool,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        hybrid_enabled -> Bool,
        require_pushed_authorization_requests -> Bool,
        dpop_bound_access_tokens -> Bool,
        require_signed_request_object -> Bool,
        backchannel_logout_uri -> Nullable<Text>,
        backchannel_logout_session_required -> Bool,
    }
}

diesel::table! {
    consents (account_id, client_id) {
        account_id -> Text,
        client_id -> Text,
        scope -> Text,
        granted_at -> Timestamp,
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
        time -> BigInt,
        actor -> Nullable<Integer>,
        actor_owner -> Nullable<Integer>,
        target -> Nullable<Integer>,
        action -> Integer,
        namespace -> Nullable<Integer>,
        target_type -> Nullable<Integer>,
        actor_type -> SmallInt,
        outcome -> SmallInt,
        id -> Nullable<Binary>,
        request_id -> Nullable<Binary>,
        ip -> Nullable<Binary>,
        changes -> Nullable<Binary>,
        hash -> Binary,
    }
}

diesel::table! {
    audit_names (code) {
        code -> Integer,
        kind -> SmallInt,
        value -> Binary,
    }
}

diesel::table! {
    audit_chain_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        anchor_seq -> BigInt,
        anchor_hash -> Text,
        id_salt -> Binary,
        last_time -> BigInt,
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
        etag -> Nullable<Text>,
    }
}

diesel::table! {
    server_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        private_key -> Binary,
        public_jwk -> Text,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sso_sessions (id) {
        id -> Text,
        token_hash -> Text,
        account_id -> Text,
        auth_time -> Timestamp,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        amr -> Text,
    }
}

diesel::table! {
    authorization_requests (id) {
        id -> Text,
        csrf -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        state -> Nullable<Text>,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        prompt -> Nullable<Text>,
        max_age -> Nullable<BigInt>,
        login_hint -> Nullable<Text>,
        account_id -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        mfa_account_id -> Nullable<Text>,
        mfa_stage -> Nullable<Text>,
        enrol_secret -> Nullable<Binary>,
        acr_values -> Nullable<Text>,
        claims -> Nullable<Text>,
        response_type -> Text,
        response_mode -> Text,
        dpop_jkt -> Nullable<Text>,
        device_authorization_id -> Nullable<Text>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        account_id -> Text,
        session_id -> Nullable<Text>,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> Timestamp,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        family_id -> Nullable<Text>,
        access_token_jti -> Nullable<Text>,
        amr -> Text,
        claims -> Nullable<Text>,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        family_id -> Text,
        client_id -> Text,
        account_id -> Text,
        session_id -> Nullable<Text>,
        scope -> Text,
        auth_time -> Timestamp,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        amr -> Text,
        claims -> Nullable<Text>,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    auth_throttle (key) {
        key -> Text,
        failures -> Integer,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    verification_codes (id) {
        id -> Text,
        account_id -> Text,
        purpose -> Text,
        target -> Text,
        code_hash -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        consumed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        channel -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Binary,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(accounts -> namespaces (namespace));
diesel::joinable!(clients -> accounts (owner_account_id));
diesel::joinable!(client_secrets -> clients (client_id));
diesel::joinable!(consents -> clients (client_id));

diesel::table! {
    console_sessions (id) {
        id -> Text,
        token_hash -> Text,
        account_id -> Text,
        sso_session_id -> Nullable<Text>,
        access_token -> Binary,
        access_expires_at -> Timestamp,
        refresh_token -> Nullable<Binary>,
        created_at -> Timestamp,
        refreshed_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    account_groups (id) {
        id -> Text,
        namespace -> Text,
        name -> Text,
        description -> Nullable<Text>,
        permissions -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    group_members (group_id, account_id) {
        group_id -> Text,
        account_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(group_members -> account_groups (group_id));
diesel::joinable!(group_members -> accounts (account_id));

diesel::table! {
    credential_epoch (id) {
        id -> Integer,
        epoch -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    account_groups,
    group_members,
    namespaces,
    accounts,
    clients,
    client_secrets,
    audit_events,
    audit_names,
    audit_chain_head,
    idempotency_keys,
    server_settings,
    signing_keys,
    sso_sessions,
    authorization_requests,
    authorization_codes,
    refresh_tokens,
    revoked_access_tokens,
    auth_throttle,
    verification_codes,
    outbox,
    console_sessions,
    consents,
);
