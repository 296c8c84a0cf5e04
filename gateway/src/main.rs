//! `touchstone-gateway`: runs the gateway, or imports master data into its store.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use touchstone_gateway::config::{Config, Options};
use touchstone_gateway::import::{self, Kind};
use touchstone_gateway::store::Store;

/// Touchstone's gateway: stores every bench event once, confirms it, serves the API.
#[derive(Debug, Parser)]
#[command(name = "touchstone-gateway", version, about)]
struct Cli {
    #[command(flatten)]
    options: Options,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Import master data from a CSV or JSON file, or every known file in a folder.
    Import {
        /// A file such as `jobs.csv` or `operators.json`, or a folder of them.
        path: PathBuf,
        /// The kind of data, when the file name does not say.
        #[arg(long)]
        kind: Option<Kind>,
    },
    /// Manage the people who sign in to the dashboard.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is asked for, or read from standard input when it is not a
    /// terminal.
    Add {
        /// The name they sign in with.
        username: String,
        /// Manager (sees everything, money included) or supervisor (the floor, no money).
        #[arg(long, value_parser = ["manager", "supervisor"])]
        role: String,
        /// Their name as the dashboard shows it; the user name when absent.
        #[arg(long)]
        name: Option<String>,
    },
    /// Set a user's password, signing them out everywhere.
    Passwd {
        /// The user.
        username: String,
    },
    /// Stop a user from signing in, signing them out everywhere.
    Disable {
        /// The user.
        username: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// The user.
        username: String,
    },
    /// List the users.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rumqttd=warn,sqlx=warn".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: starting the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(&cli.options)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => touchstone_gateway::gateway::run(config, shutdown_signal(), |_| {}).await,
        Command::Import { path, kind } => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = Store::open(&config.database).await?;
            let reports = if path.is_dir() {
                import::import_dir(&store, &path).await?
            } else {
                vec![import::import_file(&store, &path, kind).await?]
            };
            for report in reports {
                println!("{}: imported {} {}", report.file, report.count, report.kind);
            }
            Ok(())
        }
        Command::User(command) => {
            std::fs::create_dir_all(&config.data_dir)?;
            let store = Store::open(&config.database).await?;
            users::run(&store, command).await
        }
    }
}

mod users {
    //! `touchstone-gateway user ...`: dashboard users from the command line, which is how the
    //! first manager is made.

    use std::io::{BufRead, IsTerminal};

    use anyhow::{Context, bail};
    use touchstone_gateway::dashboard::auth::hash_password;
    use touchstone_gateway::store::Store;
    use touchstone_gateway::store::users::UserRow;
    use touchstone_model::workshop::Role;

    use super::UserCommand;

    /// The shortest password accepted.
    const MIN_PASSWORD: usize = 10;

    pub(super) async fn run(store: &Store, command: UserCommand) -> anyhow::Result<()> {
        let now = touchstone_gateway::store::to_us(chrono::Utc::now());
        match command {
            UserCommand::Add { username, role, name } => {
                check_username(&username)?;
                let role = if role == "manager" { Role::Manager } else { Role::Supervisor };
                let password = read_password(&username)?;
                let user = UserRow {
                    display_name: name.unwrap_or_else(|| username.clone()),
                    role,
                    password_hash: hash(password).await?,
                    disabled: false,
                    username: username.clone(),
                };
                if !store.create_user(&user, now).await? {
                    bail!(
                        "a user named `{username}` exists already; `user passwd` resets a \
                         password"
                    );
                }
                println!("added {username}");
            }
            UserCommand::Passwd { username } => {
                let password = read_password(&username)?;
                if !store.set_password(&username, &hash(password).await?).await? {
                    bail!("no user named `{username}`");
                }
                println!("password of {username} set; their sessions have ended");
            }
            UserCommand::Disable { username } | UserCommand::Enable { username }
                if store.user(&username).await?.is_none() =>
            {
                bail!("no user named `{username}`");
            }
            UserCommand::Disable { username } => {
                store.set_user_disabled(&username, true).await?;
                println!("disabled {username}");
            }
            UserCommand::Enable { username } => {
                store.set_user_disabled(&username, false).await?;
                println!("enabled {username}");
            }
            UserCommand::List => {
                for user in store.users().await? {
                    let state = if user.disabled { " (disabled)" } else { "" };
                    println!("{}\t{:?}\t{}{state}", user.username, user.role, user.display_name);
                }
            }
        }
        Ok(())
    }

    fn check_username(name: &str) -> anyhow::Result<()> {
        let fine = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !fine {
            bail!(
                "a user name is 1 to 64 letters, digits, dots, dashes, underscores or @, \
                 not `{name}`"
            );
        }
        Ok(())
    }

    /// The password, asked twice at a terminal or read as the first line of standard input.
    fn read_password(username: &str) -> anyhow::Result<String> {
        let password = if std::io::stdin().is_terminal() {
            let first = rpassword::prompt_password(format!("Password for {username}: "))?;
            let second = rpassword::prompt_password("Again: ")?;
            if first != second {
                bail!("the two passwords differ");
            }
            first
        } else {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        };
        if password.chars().count() < MIN_PASSWORD {
            bail!("a password must be at least {MIN_PASSWORD} characters");
        }
        Ok(password)
    }

    async fn hash(password: String) -> anyhow::Result<String> {
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .context("hashing the password")?
            .map_err(anyhow::Error::msg)
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
