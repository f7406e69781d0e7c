//! Unit tests for the config layers: defaults, layering order, every board profile, the
//! exact one-line errors, and the `to_toml` round trip. (Unit parsing tests live in `units`.)

use std::path::PathBuf;
use std::time::Duration;

use super::units::{GIB, KIB, MIB};
use super::*;

fn from_file(text: &str) -> Result<Config, ConfigError> {
    Config::from_sources(Some(("leafd.toml", text)), &Overrides::default())
}

fn err(text: &str) -> String {
    from_file(text).unwrap_err().to_string()
}

#[test]
fn defaults_are_the_documented_ones_and_valid() {
    let c = Config::default();
    assert_eq!(c.listen, "0.0.0.0:4222");
    assert_eq!(c.server_name, "leafd");
    assert_eq!(c.store.dir, PathBuf::from("./leafd-data"));
    assert_eq!(c.store.max_bytes, GIB);
    assert_eq!(c.store.sync, SyncMode::Batch);
    assert_eq!(c.store.sync_interval, Duration::from_secs(1));
    assert_eq!(
        (c.store.meta_cache, c.store.segment_bytes),
        (2 * MIB, 8 * MIB)
    );
    let js = &c.jetstream;
    assert_eq!(
        (js.enabled, js.max_streams, js.max_consumers),
        (true, 1024, 4096)
    );
    assert_eq!(c.log_level, log::LevelFilter::Info);
    assert_eq!((c.board.clone(), c.board_budget), (None, None));
    let l = &c.limits;
    assert_eq!(l.max_connections, 1024);
    assert_eq!(l.max_payload, MIB as usize);
    assert_eq!(l.max_control_line, 4096);
    assert_eq!(l.max_pending, 16 * MIB as usize);
    assert_eq!((l.max_subs, l.max_subscriptions_total), (0, 100_000));
    assert_eq!((l.read_buffer, l.sublist_cache), (32 * KIB as usize, 1024));
    assert_eq!(l.ping_interval, Duration::from_secs(120));
    assert_eq!(l.ping_max, 2);
    assert_eq!(l.write_deadline, Duration::from_secs(10));
    assert_eq!(Config::from_sources(None, &Overrides::default()), Ok(c));
}

#[test]
fn board_overrides_defaults() {
    let flags = Overrides {
        board: Some("rpi-zero-2w".into()),
        ..Overrides::default()
    };
    let c = Config::from_sources(None, &flags).unwrap();
    assert_eq!(c.board.as_deref(), Some("rpi-zero-2w"));
    assert_eq!(c.limits.max_connections, 128);
    assert_eq!(c.limits.max_pending, MIB as usize);
    assert_eq!(c.store.max_bytes, 256 * MIB);
    assert_eq!(c.board_budget.map(|b| b.memory), Some(32 * MIB));
    // Keys the profile leaves alone keep their defaults.
    assert_eq!(c.limits.ping_interval, Duration::from_secs(120));
    assert_eq!(c.listen, "0.0.0.0:4222");
}

#[test]
fn file_overrides_board_and_names_its_board() {
    let text = "board = \"rpi-zero-2w\"\nlisten = \"127.0.0.1:4333\"\n\
                [limits]\nmax_connections = 64\nping_interval = \"30s\"\n";
    let c = from_file(text).unwrap();
    assert_eq!(c.board.as_deref(), Some("rpi-zero-2w"));
    assert_eq!(c.limits.max_connections, 64);
    assert_eq!(c.limits.max_pending, MIB as usize); // from the board
    assert_eq!(c.limits.ping_interval, Duration::from_secs(30));
    assert_eq!(c.listen, "127.0.0.1:4333");
}

#[test]
fn flags_override_file_and_board_flag_wins() {
    let text = "board = \"rpi-zero-2w\"\nlisten = \"127.0.0.1:4333\"\nlog_level = \"warn\"\n\
                [store]\ndir = \"/var/lib/leafd\"\n[http]\nlisten = \"127.0.0.1:8222\"\n";
    let flags = Overrides {
        board: Some("rpi4".into()),
        listen: Some("127.0.0.1:0".into()),
        store_dir: Some("/tmp/x".into()),
        http: Some("127.0.0.1:9222".into()),
        log_level: Some(log::LevelFilter::Trace),
        config_file: None,
        jetstream: Some(false),
    };
    let c = Config::from_sources(Some(("leafd.toml", text)), &flags).unwrap();
    assert_eq!(c.board.as_deref(), Some("rpi4"));
    assert_eq!(c.limits.max_connections, 1024);
    assert_eq!(c.listen, "127.0.0.1:0");
    assert_eq!(c.store.dir, PathBuf::from("/tmp/x"));
    assert_eq!(c.log_level, log::LevelFilter::Trace);
    assert!(!c.jetstream.enabled);
    assert_eq!(c.http.listen.as_deref(), Some("127.0.0.1:9222"));
}

#[test]
fn http_keys_layer_and_are_checked() {
    assert_eq!(from_file("").unwrap().http, super::HttpConfig::default());
    assert_eq!(
        super::HttpConfig::default().listen,
        None,
        "monitoring is off by default"
    );
    let text = "[http]\nlisten = \"127.0.0.1:8222\"\nmax_connections = 3\n\
                request_timeout = \"500ms\"\nmax_request_head = \"4KiB\"\n";
    let c = from_file(text).unwrap();
    assert_eq!(c.http.listen.as_deref(), Some("127.0.0.1:8222"));
    assert_eq!(c.http.max_connections, 3);
    assert_eq!(c.http.request_timeout, Duration::from_millis(500));
    assert_eq!(c.http.max_request_head, 4096);
    let again = Config::from_sources(Some(("x", &c.to_toml())), &Overrides::default()).unwrap();
    assert_eq!(again.http, c.http, "to_toml round-trips [http]");
    for (bad, key) in [
        ("[http]\nlisten = \"nope\"\n", "http.listen"),
        ("[http]\nmax_connections = 0\n", "http.max_connections"),
        (
            "[http]\nrequest_timeout = \"1ms\"\n",
            "http.request_timeout",
        ),
        ("[http]\nmax_request_head = 10\n", "http.max_request_head"),
    ] {
        let err = from_file(bad).unwrap_err().to_string();
        assert!(err.contains(key), "{bad:?}: {err}");
    }
}

#[test]
fn store_and_jetstream_keys_layer() {
    let text = "[store]\nsync = \"interval\"\nsync_interval = \"250ms\"\nmeta_cache = \"1MiB\"\n\
                segment_bytes = \"4MiB\"\n[jetstream]\nenabled = false\nmax_streams = 16\n";
    let c = from_file(text).unwrap();
    assert_eq!(c.store.sync, SyncMode::Interval);
    assert_eq!(c.store.sync_interval, Duration::from_millis(250));
    assert_eq!((c.store.meta_cache, c.store.segment_bytes), (MIB, 4 * MIB));
    assert!(!c.jetstream.enabled);
    assert_eq!(
        (c.jetstream.max_streams, c.jetstream.max_consumers),
        (16, 4096)
    );
    // The flag wins over the file, both ways.
    let flags = Overrides {
        jetstream: Some(true),
        ..Overrides::default()
    };
    let c = Config::from_sources(Some(("leafd.toml", text)), &flags).unwrap();
    assert!(c.jetstream.enabled);
    for (mode, want) in [
        ("always", SyncMode::Always),
        ("batch", SyncMode::Batch),
        ("interval", SyncMode::Interval),
    ] {
        let c = from_file(&format!("[store]\nsync = \"{mode}\"\n")).unwrap();
        assert_eq!(
            (c.store.sync, c.store.sync.to_string()),
            (want, mode.to_string())
        );
    }
}

#[test]
fn every_board_loads_validates_and_fits_its_budget() {
    let names = board_names();
    assert_eq!(names, ["generic", "rpi-zero-2w", "rpi3", "rpi4", "rpi5"]);
    for profile in boards().unwrap() {
        assert!(!profile.description.is_empty());
        let flags = Overrides {
            board: Some(profile.name.to_string()),
            ..Overrides::default()
        };
        let c = Config::from_sources(None, &flags).unwrap();
        let estimate = c.memory_estimate();
        let room = estimate.slow_consumers_within_budget().unwrap();
        assert!(
            room >= 4,
            "{}: {} leaves room for only {room} slow consumers",
            profile.name,
            estimate.summary()
        );
        assert!(profile
            .budget
            .ram
            .is_none_or(|ram| profile.budget.memory <= ram / 8));
    }
}

#[test]
fn bad_values_name_the_key_in_one_line() {
    let cases: &[(&str, &str)] = &[
        (
            "[limits]\nmax_payload = 0\n",
            "limits.max_payload: must be between 1 byte and 64 MiB (got 0)",
        ),
        ("listen = \"abc\"\n", "listen: expected HOST:PORT (got \"abc\")"),
        (
            "board = \"rpi9\"\n",
            "unknown board \"rpi9\" (known: generic, rpi-zero-2w, rpi3, rpi4, rpi5)",
        ),
        (
            "[limits]\nmax_payload = \"8MiB\"\nmax_pending = \"4MiB\"\n",
            "limits.max_pending: must be at least limits.max_payload (8 MiB) so one message fits (got 4 MiB)",
        ),
        (
            "[limits]\nmax_control_line = 512\n",
            "limits.max_control_line: must be between 1 KiB and 1 MiB (got 512 bytes)",
        ),
        (
            "[limits]\nread_buffer = \"2KiB\"\nmax_control_line = \"4KiB\"\n",
            "limits.read_buffer: must be at least limits.max_control_line (4 KiB) so a control line fits (got 2 KiB)",
        ),
        (
            "[limits]\nmax_subs = 200000\n",
            "limits.max_subs: must not exceed limits.max_subscriptions_total (100000); 0 means no per-connection limit (got 200000)",
        ),
        (
            "[limits]\nping_interval = \"0s\"\n",
            "limits.ping_interval: must be between 10ms and 1day (got 0s)",
        ),
        (
            "[store]\nmax_bytes = 1000\n",
            "store.max_bytes: must be between 1 MiB and 1024 TiB (got 1000 bytes)",
        ),
        (
            "[store]\nsync_interval = \"5ms\"\n",
            "store.sync_interval: must be between 10ms and 10m (got 5ms)",
        ),
        (
            "[store]\nmeta_cache = \"100KiB\"\n",
            "store.meta_cache: must be between 256 KiB and 1 GiB (got 100 KiB)",
        ),
        (
            "board = \"rpi-zero-2w\"\n[store]\nmeta_cache = \"16MiB\"\n",
            "store.meta_cache: must not exceed the store's cache share, a quarter of the board's memory budget or 64 MiB without a board (8 MiB) (got 16 MiB)",
        ),
        (
            "[store]\nsegment_bytes = \"32KiB\"\n",
            "store.segment_bytes: must be between 64 KiB and 1 GiB (got 32 KiB)",
        ),
        (
            "[store]\nmax_bytes = \"16MiB\"\n",
            "store.segment_bytes: must be at most a quarter of store.max_bytes (4 MiB), so at least 4 segments fit (got 8 MiB)",
        ),
        (
            "[store]\nsync = \"never\"\n",
            "leafd.toml:2:8: store.sync: unknown variant `never`, expected one of `always`, `batch`, `interval`",
        ),
        (
            "[jetstream]\nmax_streams = 0\n",
            "jetstream.max_streams: must be between 1 and 100000 (got 0)",
        ),
        (
            "[jetstream]\nmax_consumers = 2000000\n",
            "jetstream.max_consumers: must be between 1 and 1000000 (got 2000000)",
        ),
        (
            "server_name = \"my leafd\"\n",
            "server_name: expected 1 to 64 characters without spaces (got \"my leafd\")",
        ),
        (
            "log_level = \"loud\"\n",
            "leafd.toml:1:13: log_level: expected one of off, error, warn, info, debug, trace (got \"loud\")",
        ),
        (
            "[limits]\nmax_payload = \"8 furlongs\"\n",
            "leafd.toml:2:15: limits.max_payload: expected a size: a number of bytes or a string like \"512KiB\", \"8MiB\", \"1GiB\" or \"64MB\" (got \"8 furlongs\")",
        ),
        (
            "[limits]\nwrite_deadline = 10\n",
            "leafd.toml:2:18: limits.write_deadline: expected a duration like \"2m\", \"500ms\" or \"10s\"; a bare number has no unit (got 10)",
        ),
        (
            "[board]\ndescription = \"mine\"\n",
            "leafd.toml:1:1: board: a [board] table belongs in a board profile; a config file picks one with board = \"NAME\"",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), *want, "for {text:?}");
    }
}

#[test]
fn unknown_keys_and_syntax_errors_name_file_line_and_key() {
    let e = err("[limits]\nmax_payloads = 3\n");
    assert!(
        e.starts_with(
            "leafd.toml:2:1: limits.max_payloads: unknown key, expected one of `max_connections`"
        ),
        "{e}"
    );
    let e = err("[limit]\n");
    assert!(
        e.starts_with("leafd.toml:1:2: limit: unknown key, expected one of"),
        "{e}"
    );
    let e = err("[limits\n");
    assert!(
        e.starts_with("leafd.toml:1:8: limits: invalid table header"),
        "{e}"
    );
    let e = err("[limits]\nping_max = -1\n");
    assert_eq!(
        e,
        "leafd.toml:2:12: limits.ping_max: invalid value: integer `-1`, expected u32"
    );
    for text in ["[limits]\nmax_payloads = 3\n", "[limits\n", "x = \n"] {
        assert!(!err(text).contains('\n'), "multi-line error for {text:?}");
    }
}

#[test]
fn unreadable_file_is_one_line() {
    let flags = Overrides {
        config_file: Some("/nonexistent/leafd.toml".into()),
        ..Overrides::default()
    };
    let e = Config::load(&flags).unwrap_err().to_string();
    assert_eq!(
        e,
        "cannot read config file /nonexistent/leafd.toml: No such file or directory"
    );
}

#[test]
fn to_toml_round_trips() {
    let mut custom = Config {
        server_name: "gw-\"7\"".into(),
        listen: "[::1]:4223".into(),
        log_level: log::LevelFilter::Debug,
        ..Config::default()
    };
    custom.store.dir = "/var/lib/leafd data".into();
    custom.store.max_bytes = 64_000_000;
    custom.limits.max_pending = 3 * MIB as usize + 1;
    custom.limits.ping_interval = Duration::from_millis(1500);
    custom.limits.max_subs = 42;
    custom.store.sync = SyncMode::Always;
    custom.store.sync_interval = Duration::from_millis(20);
    custom.store.meta_cache = 3 * MIB + 512;
    custom.store.segment_bytes = 100_000;
    custom.jetstream = JetStreamConfig {
        enabled: false,
        max_streams: 3,
        max_consumers: 9,
    };
    let mut configs = vec![Config::default(), custom];
    for name in board_names() {
        let flags = Overrides {
            board: Some(name.to_string()),
            ..Overrides::default()
        };
        configs.push(Config::from_sources(None, &flags).unwrap());
    }
    for config in configs {
        let text = config.to_toml();
        let back = from_file(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, config, "{text}");
    }
}

#[test]
fn to_toml_uses_the_file_layout() {
    let text = Config::default().to_toml();
    for line in [
        "listen = \"0.0.0.0:4222\"",
        "[store]",
        "max_bytes = \"1GiB\"",
        "sync = \"batch\"",
        "sync_interval = \"1s\"",
        "meta_cache = \"2MiB\"",
        "segment_bytes = \"8MiB\"",
        "[jetstream]",
        "enabled = true",
        "max_streams = 1024",
        "max_consumers = 4096",
        "max_payload = \"1MiB\"",
        "ping_interval = \"2m\"",
        "write_deadline = \"10s\"",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

/// The ```toml blocks of the README (configuration reference, the Raspberry Pi walk-through,
/// the uplink examples) and the packaged `/etc/leafd/leafd.toml` load as written: a newcomer
/// who copies them gets a working config, not an unknown-key error.
#[test]
fn documented_configs_load() {
    let readme = include_str!("../../README.md");
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```toml" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push(body.join("\n"));
        }
    }
    assert!(
        blocks.len() >= 2,
        "README has its config examples: {blocks:?}"
    );
    blocks.push(include_str!("../../cross/deb/leafd.toml").to_owned());
    for (i, text) in blocks.iter().enumerate() {
        if let Err(e) = from_file(text) {
            panic!("config example {i} does not load: {e}\n{text}");
        }
    }
}

#[test]
fn auth_is_checked_and_never_printed() {
    let c = from_file(
        "[auth]\ntimeout = \"500ms\"\n[[auth.users]]\nuser = \"a\"\npassword = \"pw-a\"\n\
         [[auth.users]]\nuser = \"b\"\npassword = \"pw-b\"\n",
    )
    .expect("users load");
    assert!(c.auth.enabled());
    assert_eq!(c.auth.timeout, Duration::from_millis(500));
    assert_eq!(c.auth.users.len(), 2);
    let shown = format!("{}\n{:?}", c.to_toml(), c);
    assert!(
        !shown.contains("pw-a") && !shown.contains("pw-b"),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!Config::default().auth.enabled());
    for (text, want) in [
        (
            "[auth]\ntoken = \"t\"\n[[auth.users]]\nuser = \"a\"\npassword = \"p\"\n",
            "auth.token: use either a token or [[auth.users]], not both (as nats-server)",
        ),
        (
            "[auth]\n[[auth.users]]\nuser = \"a\"\npassword = \"$2a$11$abc\"\n",
            "starts like a bcrypt hash but is not one",
        ),
        (
            "[auth]\n[[auth.users]]\nnkey = \"UABC\"\n",
            "auth.users.nkey: \"UABC\": not a user nkey",
        ),
        (
            "[auth]\n[[auth.users]]\nuser = \"a\"\npassword = \"p\"\n[auth.users.permissions]\npublish = [\"x y\"]\n",
            "auth.users.permissions: \"x y\": a queue group has no meaning for publish",
        ),
        (
            "[auth]\ntoken = \"t\"\n[auth.default_permissions]\npublish = [\"x\"]\n",
            "auth.default_permissions: permissions apply to [[auth.users]]",
        ),
        (
            "[auth]\n[[auth.users]]\nuser = \"a\"\npassword = \"p\"\n[[auth.users]]\nuser = \"a\"\npassword = \"q\"\n",
            "listed twice",
        ),
        ("[auth]\ntoken = \"t\"\ntimeout = \"10ms\"\n", "auth.timeout: must be between"),
    ] {
        let got = err(text);
        assert!(got.contains(want), "{text}: {got}");
    }
}

#[test]
fn permissions_load_and_print_back() {
    let text = "[auth]\n[auth.default_permissions]\nsubscribe = { deny = [\"secret.>\"] }\n\
                [[auth.users]]\nuser = \"svc\"\npassword = \"p\"\n\
                [auth.users.permissions]\npublish = { allow = [\"svc.>\"] }\n\
                subscribe = [\"req.* workers\"]\nallow_responses = true\n\
                [[auth.users]]\nuser = \"dev\"\npassword = \"q\"\n";
    let c = from_file(text).expect("loads");
    let svc = c.auth.users[0]
        .permissions
        .as_ref()
        .expect("svc has its own");
    assert_eq!(
        svc.subscribe.allow.as_deref(),
        Some(&["req.* workers".to_owned()][..])
    );
    assert_eq!(svc.responses, Some(crate::config::Responses::default()));
    assert!(
        c.auth.users[1].permissions.is_none(),
        "dev takes the defaults"
    );
    assert_eq!(c.auth.default_permissions.subscribe.deny, vec!["secret.>"]);
    // --print-config's output loads to the same permissions (passwords are redacted).
    let printed = c.to_toml();
    let back = from_file(&printed).expect("printed config loads");
    assert_eq!(back.auth.users[0].permissions, c.auth.users[0].permissions);
    assert_eq!(back.auth.default_permissions, c.auth.default_permissions);
}

#[test]
fn tls_connections_cost_more_in_the_memory_model() {
    let plain = Config::default();
    let tls = from_file("[tls]\ncert_file = \"/x/server.pem\"\nkey_file = \"/x/server.key\"\n")
        .expect("[tls] loads without reading its files");
    let more = tls.memory_estimate().connections - plain.memory_estimate().connections;
    assert_eq!(more, plain.limits.max_connections as u64 * 16 * KIB);
}
