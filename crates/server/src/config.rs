//! Layered configuration: defaults, then an optional TOML file, then `SWITCHBOARD_*`
//! environment variables (plus the conventional `DATABASE_URL` and `REDIS_URL`), then
//! command-line flags. Secrets are kept in [`Secret`] and never printed.

use std::{collections::HashMap, net::SocketAddr, path::Path, time::Duration};

use anyhow::{bail, Context};
use serde::Deserialize;
use switchboard_app::{accounts::LimitPolicy, customers::CountryCode};
use switchboard_domain::CenterClock;
use switchboard_gateway::{client::TrustedProxies, Secret};

/// The settings file's shape; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub redis_namespace: Option<String>,
    pub company_name: Option<String>,
    pub time_zone: Option<String>,
    pub default_country_code: Option<String>,
    pub pbx_ca_file: Option<String>,
    pub session_ttl_secs: Option<u64>,
    /// Failed sign-ins per client address per minute (its old name is accepted).
    #[serde(alias = "login_attempts_per_minute")]
    pub login_failures_per_minute: Option<u32>,
    pub login_lockout_after_failures: Option<u32>,
    pub login_lockout_secs: Option<u64>,
    pub login_lockout_max_secs: Option<u64>,
    pub setup_secret: Option<String>,
    pub setup_ttl_secs: Option<u64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub log_format: Option<String>,
    pub body_limit_bytes: Option<usize>,
    pub ws_max_message_bytes: Option<usize>,
    pub ws_messages_per_second: Option<u32>,
    pub ws_message_burst: Option<u32>,
    pub header_read_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub drain_timeout_secs: Option<u64>,
}

/// Values given on the command line (they win).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: Secret,
    pub redis_url: Option<Secret>,
    pub redis_namespace: String,
    pub company_name: String,
    /// The center's clock: "today" on consoles and the floor, and reports by default.
    pub center_clock: CenterClock,
    /// The country calling code of national phone numbers in customer identities.
    pub default_country_code: Option<CountryCode>,
    /// A PEM file of private CA certificates the PBX webhooks' HTTPS client trusts besides
    /// the system's.
    pub pbx_ca_file: Option<std::path::PathBuf>,
    pub session_ttl: Duration,
    pub login_limits: LimitPolicy,
    pub setup_secret: Option<Secret>,
    /// How long after the start the setup secret works (`None`: until an admin exists).
    pub setup_ttl: Option<Duration>,
    pub trusted_proxies: TrustedProxies,
    pub log_format: LogFormat,
    pub body_limit: usize,
    /// Largest WebSocket message (close 1009 beyond).
    pub ws_max_message: usize,
    /// WebSocket messages per second per socket, and burst (close 1008 beyond).
    pub ws_messages_per_second: u32,
    pub ws_message_burst: u32,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub idle_timeout: Duration,
    /// How long a stop waits for requests in flight and sockets before exiting anyway.
    pub drain_timeout: Duration,
}

impl Config {
    /// Combines the layers. `env` is the process environment (a map, for tests).
    pub fn layered(
        file: FileConfig,
        env: &HashMap<String, String>,
        flags: &Flags,
    ) -> anyhow::Result<Config> {
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let pick = |flag: Option<&String>, env_names: &[&str], file: Option<String>| {
            flag.cloned()
                .or_else(|| env_names.iter().find_map(|n| var(n)))
                .or(file)
        };
        let listen = pick(flags.listen.as_ref(), &["SWITCHBOARD_LISTEN"], file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen
            .parse()
            .with_context(|| format!("listen address {listen:?} is not host:port"))?;
        let database_url = pick(
            flags.database_url.as_ref(),
            &["SWITCHBOARD_DATABASE_URL", "DATABASE_URL"],
            file.database_url,
        )
        .unwrap_or_else(|| "sqlite://switchboard.db".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!("the database URL must start with sqlite: or postgres://");
        }
        let redis_url = pick(
            flags.redis_url.as_ref(),
            &["SWITCHBOARD_REDIS_URL", "REDIS_URL"],
            file.redis_url,
        );
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                bail!("the Redis URL must start with redis:// or rediss://");
            }
        }
        let number = |name: &str, file: Option<u64>| -> anyhow::Result<Option<u64>> {
            match var(name) {
                Some(v) => {
                    Ok(Some(v.parse().with_context(|| {
                        format!("{name} must be a whole number")
                    })?))
                }
                None => Ok(file),
            }
        };
        let session_ttl =
            number("SWITCHBOARD_SESSION_TTL_SECS", file.session_ttl_secs)?.unwrap_or(12 * 3600);
        if !(60..=30 * 24 * 3600).contains(&session_ttl) {
            bail!("session_ttl_secs must be between 60 and 2592000");
        }
        let defaults = LimitPolicy::default();
        let per_minute = match number("SWITCHBOARD_LOGIN_FAILURES_PER_MINUTE", None)? {
            Some(n) => Some(n),
            None => number(
                "SWITCHBOARD_LOGIN_ATTEMPTS_PER_MINUTE",
                file.login_failures_per_minute.map(u64::from),
            )?,
        }
        .unwrap_or(u64::from(defaults.client_failures_per_minute));
        let lockout_after = number(
            "SWITCHBOARD_LOGIN_LOCKOUT_AFTER_FAILURES",
            file.login_lockout_after_failures.map(u64::from),
        )?
        .unwrap_or(u64::from(defaults.lockout_after));
        let lockout = number("SWITCHBOARD_LOGIN_LOCKOUT_SECS", file.login_lockout_secs)?
            .unwrap_or(defaults.base_lockout.as_secs());
        let lockout_max = number(
            "SWITCHBOARD_LOGIN_LOCKOUT_MAX_SECS",
            file.login_lockout_max_secs,
        )?
        .unwrap_or(defaults.max_lockout.as_secs());
        if !(1..=86_400).contains(&lockout) || !(lockout..=86_400).contains(&lockout_max) {
            bail!("login_lockout_secs must be 1 to 86400, and login_lockout_max_secs from it to 86400");
        }
        let login_limits = LimitPolicy {
            lockout_after: u32::try_from(lockout_after)
                .context("login_lockout_after_failures")?
                .clamp(1, 1000),
            base_lockout: Duration::from_secs(lockout),
            max_lockout: Duration::from_secs(lockout_max),
            forget_after: defaults.forget_after.max(Duration::from_secs(lockout_max)),
            client_failures_per_minute: u32::try_from(per_minute)
                .context("login_failures_per_minute")?
                .max(1),
        };
        let setup_ttl = number("SWITCHBOARD_SETUP_TTL_SECS", file.setup_ttl_secs)?.unwrap_or(3600);
        let trusted_proxies = match var("SWITCHBOARD_TRUSTED_PROXIES") {
            Some(list) => TrustedProxies::parse_list(&list),
            None => TrustedProxies::parse_list(&file.trusted_proxies.unwrap_or_default().join(",")),
        }
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        let body_limit = number(
            "SWITCHBOARD_BODY_LIMIT_BYTES",
            file.body_limit_bytes.map(|b| b as u64),
        )?
        .unwrap_or(256 * 1024);
        let log_format = match pick(None, &["SWITCHBOARD_LOG_FORMAT"], file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log_format {other:?}: use text or json"),
        };
        let center_clock = match pick(None, &["SWITCHBOARD_TIME_ZONE"], file.time_zone) {
            None => CenterClock::UTC,
            Some(zone) => zone
                .parse()
                .map_err(|e: switchboard_domain::ValidationError| {
                    anyhow::anyhow!("time_zone: {}", e.problem)
                })?,
        };
        let default_country_code = pick(
            None,
            &["SWITCHBOARD_DEFAULT_COUNTRY_CODE"],
            file.default_country_code,
        )
        .map(|code| {
            CountryCode::parse(&code)
                .map_err(|e| anyhow::anyhow!("default_country_code {code:?}: {}", e.problem))
        })
        .transpose()?;
        let ws_max_message = number(
            "SWITCHBOARD_WS_MAX_MESSAGE_BYTES",
            file.ws_max_message_bytes.map(|b| b as u64),
        )?
        .unwrap_or(64 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&ws_max_message) {
            bail!("ws_max_message_bytes must be between 1024 and 16777216");
        }
        let per_second = number(
            "SWITCHBOARD_WS_MESSAGES_PER_SECOND",
            file.ws_messages_per_second.map(u64::from),
        )?
        .unwrap_or(20);
        let burst = number(
            "SWITCHBOARD_WS_MESSAGE_BURST",
            file.ws_message_burst.map(u64::from),
        )?
        .unwrap_or(40);
        if !(1..=10_000).contains(&per_second) || !(1..=10_000).contains(&burst) {
            bail!("ws_messages_per_second and ws_message_burst must be between 1 and 10000");
        }
        let seconds = |name: &str, key: &str, file: Option<u64>, default: u64| {
            let secs = number(name, file)?.unwrap_or(default);
            if !(1..=3600).contains(&secs) {
                bail!("{key} must be between 1 and 3600");
            }
            anyhow::Ok(Duration::from_secs(secs))
        };
        let header_read_timeout = seconds(
            "SWITCHBOARD_HEADER_READ_TIMEOUT_SECS",
            "header_read_timeout_secs",
            file.header_read_timeout_secs,
            10,
        )?;
        let request_timeout = seconds(
            "SWITCHBOARD_REQUEST_TIMEOUT_SECS",
            "request_timeout_secs",
            file.request_timeout_secs,
            30,
        )?;
        let idle_timeout = seconds(
            "SWITCHBOARD_IDLE_TIMEOUT_SECS",
            "idle_timeout_secs",
            file.idle_timeout_secs,
            60,
        )?;
        let drain_timeout = seconds(
            "SWITCHBOARD_DRAIN_TIMEOUT_SECS",
            "drain_timeout_secs",
            file.drain_timeout_secs,
            10,
        )?;
        let setup_secret = pick(None, &["SWITCHBOARD_SETUP_SECRET"], file.setup_secret);
        if setup_secret.as_ref().is_some_and(|s| s.len() < 16) {
            bail!("the setup secret must be at least 16 characters");
        }
        Ok(Config {
            listen,
            database_url: Secret::new(database_url),
            redis_url: redis_url.map(Secret::new),
            redis_namespace: pick(None, &["SWITCHBOARD_REDIS_NAMESPACE"], file.redis_namespace)
                .unwrap_or_else(|| "default".into()),
            company_name: pick(None, &["SWITCHBOARD_COMPANY_NAME"], file.company_name)
                .unwrap_or_else(|| "Switchboard".into()),
            center_clock,
            default_country_code,
            pbx_ca_file: pick(None, &["SWITCHBOARD_PBX_CA_FILE"], file.pbx_ca_file).map(Into::into),
            session_ttl: Duration::from_secs(session_ttl),
            login_limits,
            setup_secret: setup_secret.map(Secret::new),
            setup_ttl: (setup_ttl > 0).then(|| Duration::from_secs(setup_ttl)),
            trusted_proxies,
            log_format,
            body_limit: usize::try_from(body_limit)
                .context("body limit")?
                .clamp(1024, 64 * 1024 * 1024),
            ws_max_message: ws_max_message as usize,
            ws_messages_per_second: per_second as u32,
            ws_message_burst: burst as u32,
            header_read_timeout,
            request_timeout,
            idle_timeout,
            drain_timeout,
        })
    }

    /// Reads the file (`path`, or `switchboard.toml` in the working directory if present)
    /// and the process environment.
    pub fn load(path: Option<&Path>, flags: &Flags) -> anyhow::Result<Config> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let path = path
            .map(Path::to_path_buf)
            .or_else(|| env.get("SWITCHBOARD_CONFIG").map(Into::into))
            .or_else(|| {
                Path::new("switchboard.toml")
                    .exists()
                    .then(|| "switchboard.toml".into())
            });
        let file = match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        Self::layered(file, &env, flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::layered(FileConfig::default(), &env(&[]), &Flags::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url.expose(), "sqlite://switchboard.db");
        assert!(c.redis_url.is_none());
        assert_eq!(c.session_ttl, Duration::from_secs(12 * 3600));
        assert_eq!(
            (
                c.ws_max_message,
                c.ws_messages_per_second,
                c.ws_message_burst
            ),
            (64 * 1024, 20, 40)
        );
        assert_eq!(
            [
                c.header_read_timeout,
                c.request_timeout,
                c.idle_timeout,
                c.drain_timeout
            ],
            [10, 30, 60, 10].map(Duration::from_secs)
        );
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let file = FileConfig {
            listen: Some("127.0.0.1:1".into()),
            company_name: Some("Acme".into()),
            database_url: Some("sqlite://file.db".into()),
            ..FileConfig::default()
        };
        let e = env(&[
            ("SWITCHBOARD_LISTEN", "127.0.0.1:2"),
            ("DATABASE_URL", "postgres://db/x"),
        ]);
        let flags = Flags {
            listen: Some("127.0.0.1:3".into()),
            ..Flags::default()
        };
        let c = Config::layered(file, &e, &flags).unwrap();
        assert_eq!(c.listen.port(), 3);
        assert_eq!(c.database_url.expose(), "postgres://db/x");
        assert_eq!(c.company_name, "Acme");
        assert_eq!(c.center_clock, CenterClock::UTC);
        let c = Config::layered(
            FileConfig {
                time_zone: Some("Europe/Berlin".into()),
                ..FileConfig::default()
            },
            &env(&[]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(c.center_clock.to_string(), "Europe/Berlin");
        assert_eq!(c.default_country_code, None);
        let c = Config::layered(
            FileConfig::default(),
            &env(&[("SWITCHBOARD_DEFAULT_COUNTRY_CODE", "+49")]),
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(
            c.default_country_code,
            Some(CountryCode::parse("49").unwrap())
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let bad = |pairs: &[(&str, &str)]| {
            Config::layered(FileConfig::default(), &env(pairs), &Flags::default())
                .unwrap_err()
                .to_string()
        };
        assert!(bad(&[("SWITCHBOARD_LISTEN", "nowhere")]).contains("host:port"));
        assert!(bad(&[("DATABASE_URL", "mysql://x")]).contains("sqlite: or postgres://"));
        assert!(bad(&[("SWITCHBOARD_SESSION_TTL_SECS", "abc")]).contains("whole number"));
        assert!(bad(&[("SWITCHBOARD_SETUP_SECRET", "short")]).contains("16"));
        assert!(bad(&[("SWITCHBOARD_TIME_ZONE", "Europe/Atlantis")]).contains("IANA"));
        assert!(
            bad(&[("SWITCHBOARD_DEFAULT_COUNTRY_CODE", "049")]).contains("default_country_code")
        );
        assert!(bad(&[("SWITCHBOARD_REQUEST_TIMEOUT_SECS", "0")]).contains("request_timeout_secs"));
        assert!(bad(&[("SWITCHBOARD_WS_MAX_MESSAGE_BYTES", "10")]).contains("ws_max_message"));
        assert!(
            toml::from_str::<FileConfig>("lisen = '1'").is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn the_example_settings_file_is_valid() {
        let text = include_str!("../../../deploy/switchboard.toml.example");
        let file: FileConfig = toml::from_str(text).unwrap();
        let c = Config::layered(file, &env(&[]), &Flags::default()).unwrap();
        assert_eq!(
            (c.listen.port(), c.company_name.as_str(), c.log_format),
            (8080, "Acme Support", LogFormat::Json)
        );
    }

    #[test]
    fn sign_in_limits_setup_ttl_and_trusted_proxies_are_configured() {
        let c = Config::layered(FileConfig::default(), &env(&[]), &Flags::default()).unwrap();
        assert_eq!(c.login_limits, LimitPolicy::default());
        assert_eq!(c.setup_ttl, Some(Duration::from_secs(3600)));
        assert!(
            c.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
        let file: FileConfig = toml::from_str(
            "login_attempts_per_minute = 7\nlogin_lockout_secs = 5\ntrusted_proxies = ['10.0.0.0/8']\nsetup_ttl_secs = 0",
        )
        .unwrap();
        let e = env(&[
            ("SWITCHBOARD_LOGIN_LOCKOUT_AFTER_FAILURES", "3"),
            ("SWITCHBOARD_LOGIN_LOCKOUT_MAX_SECS", "60"),
        ]);
        let c = Config::layered(file, &e, &Flags::default()).unwrap();
        assert_eq!(
            (
                c.login_limits.client_failures_per_minute,
                c.login_limits.lockout_after,
                c.login_limits.base_lockout.as_secs(),
                c.login_limits.max_lockout.as_secs()
            ),
            (7, 3, 5, 60)
        );
        assert_eq!(c.setup_ttl, None, "0: no expiry");
        assert!(c.trusted_proxies.trusts("10.9.8.7".parse().unwrap()));
        let e = env(&[("SWITCHBOARD_TRUSTED_PROXIES", "192.0.2.0/24, 2001:db8::1")]);
        let c = Config::layered(FileConfig::default(), &e, &Flags::default()).unwrap();
        assert!(c.trusted_proxies.trusts("192.0.2.9".parse().unwrap()));
        assert!(!c.trusted_proxies.trusts("10.0.0.1".parse().unwrap()));
        let bad = |pairs: &[(&str, &str)]| {
            Config::layered(FileConfig::default(), &env(pairs), &Flags::default())
                .unwrap_err()
                .to_string()
        };
        assert!(bad(&[("SWITCHBOARD_TRUSTED_PROXIES", "lb.local")]).contains("trusted_proxies"));
        assert!(bad(&[("SWITCHBOARD_LOGIN_LOCKOUT_SECS", "0")]).contains("login_lockout_secs"));
    }

    #[test]
    fn secrets_never_print() {
        let e = env(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("SWITCHBOARD_SETUP_SECRET", "0123456789abcdef-secret"),
        ]);
        let c = Config::layered(FileConfig::default(), &e, &Flags::default()).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("abcdef-secret"),
            "{shown}"
        );
    }
}
