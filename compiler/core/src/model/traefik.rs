//! How Traefik reads its static configuration, for the rules and targets that must know what
//! a Traefik container will do (whether its API is open, which providers it runs). Traefik
//! takes it from exactly one source: a configuration file if it finds one, else its
//! command-line flags if it has any, else its `TRAEFIK_*` environment. Held to the real
//! binary by the consumer test `sparkc_reads_traefik_settings_as_traefik_does`.

use super::{EnvValue, MountSource, Service, command_words};

/// Go's `strconv.ParseBool`, which Traefik's configuration parser uses: `Some(true)` for
/// `1 t T TRUE true True`, `Some(false)` for their opposites, `None` otherwise.
pub fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Where a Traefik container takes its static configuration from. Traefik uses exactly one
/// source: a configuration file if it finds one, else its command-line flags if it has any,
/// else its `TRAEFIK_*` environment.
pub enum TraefikSource {
    /// A static configuration file (which sparkc does not read).
    File,
    /// Its command-line flags, as words.
    Flags(Vec<String>),
    /// Its `TRAEFIK_*` environment.
    Env,
}

/// The static configuration files Traefik looks for when no `--configfile` says otherwise.
const TRAEFIK_FILES: &[&str] = &[
    "/etc/traefik/traefik.toml",
    "/etc/traefik/traefik.yml",
    "/etc/traefik/traefik.yaml",
];

/// Which source the Traefik container of `s` takes its static configuration from.
pub fn traefik_source(s: &Service) -> TraefikSource {
    let args = traefik_args(s);
    let file_mounted = s.volumes.iter().any(|v| {
        TRAEFIK_FILES.contains(&v.target.as_str())
            || (v.target == "/etc/traefik" && !matches!(v.source, MountSource::Tmpfs))
    });
    if file_mounted || traefik_flag(&args, "configfile").is_some() {
        return TraefikSource::File;
    }
    if args.iter().any(|a| a.starts_with('-')) {
        TraefikSource::Flags(args)
    } else {
        TraefikSource::Env
    }
}

/// The arguments a Traefik container's `traefik` gets: entrypoint and command words, the
/// binary itself left out.
fn traefik_args(s: &Service) -> Vec<String> {
    command_words(&s.entrypoint)
        .into_iter()
        .chain(command_words(&s.command))
        .filter(|w| w != "traefik" && !w.ends_with("/traefik") && !w.ends_with("entrypoint.sh"))
        .collect()
}

/// The value Traefik's flag parser gives setting `key` (lower case, dotted): one or two
/// leading dashes, names compared without case, `name=value`, or a bare name meaning `true`.
pub fn traefik_flag(args: &[String], key: &str) -> Option<String> {
    let mut found = None;
    for a in args {
        let Some(name) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            continue;
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n, v.to_string()),
            None => (name, "true".to_string()),
        };
        if name.eq_ignore_ascii_case(key) {
            found = Some(value);
        }
    }
    found
}

/// The value Traefik's environment parser gives setting `key`: it takes the variables that
/// start, case-sensitively, with `TRAEFIK_` and the upper-case root section (`TRAEFIK_API`),
/// then compares the rest, `_` for `.`, without case (checked against the real binary by the
/// consumer test `sparkc_reads_traefik_settings_as_traefik_does`).
pub fn traefik_env<'s>(s: &'s Service, key: &str) -> Option<(&'s str, &'s EnvValue)> {
    let root = key.split('.').next().unwrap_or(key).to_ascii_uppercase();
    let prefix = format!("TRAEFIK_{root}");
    s.env.iter().find_map(|(k, v)| {
        let dotted = k.to_ascii_lowercase().replace('_', ".");
        (k.starts_with(&prefix) && dotted == format!("traefik.{key}")).then_some((k.as_str(), v))
    })
}

/// What a Traefik container will take for one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// It reads a configuration file sparkc does not see.
    Unknown,
    /// Not set: Traefik's default applies.
    Unset,
    /// The value, and the service field it was written in.
    Set {
        /// The value as Traefik reads it.
        value: String,
        /// The service field it was written in (`command`, `env`).
        field: &'static str,
    },
}

/// What Traefik takes for setting `key` (lower case, dotted: `api.insecure`).
pub fn setting(s: &Service, key: &str) -> Setting {
    match traefik_source(s) {
        TraefikSource::File => Setting::Unknown,
        TraefikSource::Flags(args) => match traefik_flag(&args, key) {
            Some(value) => {
                let in_command = traefik_flag(&command_words(&s.command), key).is_some();
                Setting::Set {
                    value,
                    field: if in_command { "command" } else { "entrypoint" },
                }
            }
            None => Setting::Unset,
        },
        TraefikSource::Env => match traefik_env(s, key) {
            Some((_, EnvValue::Plain(v))) => Setting::Set {
                value: v.clone(),
                field: "env",
            },
            _ => Setting::Unset,
        },
    }
}

/// Whether a section such as `providers.swarm` is on: set true, or any setting below it set
/// (Traefik turns a section on when one of its settings is given). `None`: unknown (a file).
pub fn section_on(s: &Service, key: &str) -> Option<bool> {
    let below = format!("{key}.");
    match setting(s, key) {
        Setting::Unknown => return None,
        Setting::Set { value, .. } => return Some(go_bool(&value) == Some(true)),
        Setting::Unset => {}
    }
    Some(match traefik_source(s) {
        TraefikSource::Flags(args) => args.iter().any(|a| {
            let name = a.trim_start_matches('-');
            name.split('=')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
                .starts_with(&below)
        }),
        TraefikSource::Env => s.env.keys().any(|k| {
            k.to_ascii_lowercase()
                .replace('_', ".")
                .starts_with(&format!("traefik.{below}"))
        }),
        TraefikSource::File => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Command, Text};

    #[test]
    fn traefik_flags_as_traefik_reads_them() {
        let args = |v: &[&str]| {
            v.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        };
        for on in [
            &["--api.insecure"][..],
            &["--api.insecure=true"],
            &["--api.insecure=1"],
            &["--api.insecure=T"],
            &["--api.insecure=t"],
            &["-api.insecure"],
            &["--API.Insecure=TRUE"],
            &["--api.insecure=false", "--api.insecure=True"],
        ] {
            let v = traefik_flag(&args(on), "api.insecure");
            assert_eq!(v.as_deref().and_then(go_bool), Some(true), "{on:?}");
        }
        for off in [
            &["--api.insecure=false"][..],
            &["--api.insecure=0"],
            &["--api.dashboard"],
        ] {
            let v = traefik_flag(&args(off), "api.insecure");
            assert_ne!(v.as_deref().and_then(go_bool), Some(true), "{off:?}");
        }
    }

    #[test]
    fn words_as_compose_and_sh_split_them() {
        let w = |c: Command| command_words(&Some(c));
        assert_eq!(
            w(Command::Shell(Text::lit(
                "traefik --api.insecure=\"true\" 'a b'"
            ))),
            ["traefik", "--api.insecure=true", "a b"]
        );
        assert_eq!(
            w(Command::Exec(vec![
                Text::lit("sh"),
                Text::lit("-c"),
                Text::lit("traefik --api.insecure")
            ])),
            ["sh", "-c", "traefik", "--api.insecure"]
        );
    }
}
