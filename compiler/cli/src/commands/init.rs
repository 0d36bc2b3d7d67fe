use crate::{ExitStatus, Global};
use std::path::PathBuf;

/// Write a starter project (spark.toml and main.spark) into DIR.
#[derive(clap::Args)]
pub struct Init {
    #[arg(default_value = ".")]
    dir: PathBuf,
}

impl Init {
    pub fn run(self, _: &Global) -> Result<ExitStatus, String> {
        let dir = &self.dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let files = [
            ("spark.toml", sparkc::starter::MANIFEST),
            ("main.spark", sparkc::starter::MAIN),
        ];
        for (name, _) in files {
            let p = dir.join(name);
            if std::fs::symlink_metadata(&p).is_ok() {
                return Err(format!(
                    "{} exists already; sparkc init never overwrites",
                    p.display()
                ));
            }
        }
        for (name, text) in files {
            // `create_new`: never over a file (or a link) that appeared meanwhile.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(name))
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
                .map_err(|e| format!("cannot write {name}: {e}"))?;
        }
        eprintln!(
            "wrote {0}/spark.toml and {0}/main.spark; next: sparkc build {0}",
            dir.display()
        );
        Ok(ExitStatus::Success)
    }
}
