//! The people who sign in to the dashboard, and their sessions.
//!
//! The store keeps what it is given: password hashes are made and checked by the dashboard's
//! sign-in code, and a session is stored by the hash of its token, never the token itself.

use sqlx::Row;
use sqlx::any::AnyRow;
use touchstone_model::workshop::Role;

use super::{Store, StoreError};

/// One dashboard user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// The name they sign in with.
    pub username: String,
    /// Their name as the dashboard shows it.
    pub display_name: String,
    /// Manager or supervisor.
    pub role: Role,
    /// The argon2id hash of their password, in PHC form.
    pub password_hash: String,
    /// Whether they may no longer sign in.
    pub disabled: bool,
}

/// A signed-in session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Who is signed in.
    pub user: UserRow,
    /// When they signed in, microseconds.
    pub created_us: i64,
    /// When the session was last used, microseconds (updated at most once a minute).
    pub last_seen_us: i64,
}

fn user(row: &AnyRow) -> Result<UserRow, StoreError> {
    let username: String = row.try_get("username")?;
    let role: String = row.try_get("role")?;
    let role = role.parse().map_err(|err: touchstone_model::metal::UnknownName| {
        let source = serde::de::Error::custom(err);
        StoreError::Corrupt { what: "user role", id: username.clone(), source }
    })?;
    Ok(UserRow {
        display_name: row.try_get("display_name")?,
        role,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        username,
    })
}

/// Ends every session of `username`, inside the caller's transaction.
async fn end_sessions(conn: &mut sqlx::AnyConnection, username: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE username = $1").bind(username).execute(conn).await?;
    Ok(())
}

const USER_COLUMNS: &str = "u.username, u.display_name, u.role, u.password_hash, u.disabled";

impl Store {
    /// Adds a user; `false` when the name is taken.
    pub async fn create_user(&self, user: &UserRow, now_us: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO users (username, display_name, role, password_hash, disabled, created_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(i64::from(user.disabled))
        .bind(now_us)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a user's password hash and signs them out everywhere; `false` when there is
    /// no such user.
    pub async fn set_password(&self, username: &str, hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, username).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables or enables a user; disabling signs them out. `false` when there is no such
    /// user.
    pub async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&mut *tx)
            .await?;
        if disabled {
            end_sessions(&mut tx, username).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// One user by name.
    pub async fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        rows.iter().map(user).collect()
    }

    /// Stores a new session.
    pub async fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        now_us: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, username, created_us, last_seen_us) \
             VALUES ($1, $2, $3, $3)",
        )
        .bind(token_hash)
        .bind(username)
        .bind(now_us)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session with this token hash and its user, if both exist.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.created_us, s.last_seen_us FROM sessions s \
             JOIN users u ON u.username = s.username WHERE s.token_hash = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => Ok(Some(SessionRow {
                user: user(&row)?,
                created_us: row.try_get("created_us")?,
                last_seen_us: row.try_get("last_seen_us")?,
            })),
            None => Ok(None),
        }
    }

    /// Marks a session used now.
    pub async fn touch_session(&self, token_hash: &str, now_us: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_us = $1 WHERE token_hash = $2")
            .bind(now_us)
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends sessions idle since before `idle_before_us` or started before `started_before_us`.
    pub async fn prune_sessions(
        &self,
        idle_before_us: i64,
        started_before_us: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_us < $1 OR created_us < $2")
            .bind(idle_before_us)
            .bind(started_before_us)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
