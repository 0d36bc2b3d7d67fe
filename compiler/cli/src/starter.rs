//! The project `sparkc init` writes: built and checked by the real consumers in the tests,
//! like the examples.

pub const MANIFEST: &str = r#"[project]
name = "my-setup"
entry = "main.spark"
out = "out"
build = ["compose", "caddy"]
"#;

pub const MAIN: &str = r#"// A starter sparkc project: one host running a web app and its database, behind Caddy
// with automatic HTTPS. `sparkc build` writes compose/web01/docker-compose.yml and the
// Caddyfile beside it.
import std.apps.{postgres, caddy}

host web01 {
  address = 203.0.113.10
  runtime = compose
  proxy = caddy
  cpus = 2
  memory = 4GiB
}

service proxy on web01 = caddy()

secret db_password from env "DB_PASSWORD"

service db on web01 = postgres(database = "app", password = db_password) {
  reserve { memory = 512MiB }
}

service app on web01 {
  image = "ghcr.io/example/app:1.0"
  port { http = 8080 }
  env {
    DATABASE_HOST = db
    DATABASE_PORT = db.port.postgres
    DATABASE_PASSWORD = db_password
  }
  depends_on = [db]
  restart = unless-stopped
}

domain app.example.org -> app.port.http
"#;
