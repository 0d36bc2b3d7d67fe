//! The cloudinit target's files, read by the programs that consume them: every `user-data`
//! passes `cloud-init schema` of cloud-init 22.4 (Debian 12's, the oldest guest), and holds
//! no top-level key that schema does not know (22.4 lets unknown keys pass; they would be
//! ignored on the VM); every `network-config` is parsed by cloud-init's own network-state
//! parser into the interface, address, route and DNS servers the model says; every
//! `meta-data` names its instance and host; every provisioning script passes shellcheck,
//! and runs against stand-ins for Proxmox's `qm` and `pvesm`: the first run clones, sizes
//! and starts each VM, the second changes nothing but the settings it sets again.

use sparkc_snapshots::real::{each_generated, tool};
use sparkc_snapshots::{Rendered, valid_programs};
use std::path::Path;
use std::process::Command;

fn cloud_init() -> std::path::PathBuf {
    tool("SPARKC_CLOUD_INIT", "cloud-init")
}

/// The Python that runs cloud-init here (its wrapper's), for its network parser.
fn cloud_init_python(code: &str, arg: &Path) -> std::process::Output {
    let bin = cloud_init();
    let wrapper = std::fs::read_to_string(&bin).unwrap_or_else(|e| panic!("{e}"));
    // `PYTHONPATH="..." exec "PYTHON" -m cloudinit.cmd.main "$@"`
    let quoted: Vec<&str> = wrapper.split('"').collect();
    let (path, python) = (quoted[1], quoted[3]);
    Command::new(python)
        .env("PYTHONPATH", path)
        .args(["-c", code])
        .arg(arg)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn cloud_init_accepts_every_user_data() {
    let bin = cloud_init();
    let checked = each_generated("/user-data", |name, file, a| {
        assert!(
            a.contents.starts_with("#cloud-config\n"),
            "{name}: {}",
            a.path
        );
        let o = Command::new(&bin)
            .args(["schema", "--config-file"])
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            o.status.success() && !said.contains("deprecat"),
            "{name}: cloud-init rejected {}:\n{said}\n--- user-data ---\n{}",
            a.path,
            a.contents
        );
        // Every top-level key is one the schema defines.
        let strict = cloud_init_python(
            r##"
import json, sys, yaml
from cloudinit.config.schema import get_schema
known = set(get_schema().get("properties", {}))
for item in get_schema().get("allOf", []):
    ref = item.get("$ref", "")
    if ref.startswith("#/$defs/"):
        known |= set(get_schema()["$defs"][ref[len("#/$defs/"):]].get("properties", {}))
doc = yaml.safe_load(open(sys.argv[1]))
unknown = sorted(set(doc) - known)
print(",".join(unknown))
sys.exit(1 if unknown else 0)
"##,
            file,
        );
        assert!(
            strict.status.success(),
            "{name}: {}: keys cloud-init 22.4 does not know: {}{}",
            a.path,
            String::from_utf8_lossy(&strict.stdout),
            String::from_utf8_lossy(&strict.stderr)
        );
    });
    assert!(checked >= 2, "only {checked} user-data files were checked");
}

#[test]
fn cloud_init_parses_every_network_config_as_the_model_says() {
    let mut checked = 0;
    for (name, out) in valid_programs() {
        let dir = std::env::temp_dir().join(format!(
            "sparkc-cloudinit-net-{}-{checked}",
            std::process::id()
        ));
        for a in out
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("/network-config"))
        {
            let vm = a.path.split('/').nth(1).unwrap_or("");
            let h = out
                .model
                .hosts
                .iter()
                .find(|h| h.name == vm)
                .unwrap_or_else(|| panic!("{name}: no host {vm}"));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            let file = dir.join(format!("{vm}.yaml"));
            std::fs::write(&file, &a.contents).unwrap_or_else(|e| panic!("{e}"));
            let o = cloud_init_python(
                r#"
import json, sys, yaml
from cloudinit.net import network_state
ns = network_state.parse_net_config_data(yaml.safe_load(open(sys.argv[1])), skip_broken=False)
print(json.dumps([
    {"mac": i.get("mac_address"), "subnets": i.get("subnets")} for i in ns.iter_interfaces()
]))
"#,
                &file,
            );
            assert!(
                o.status.success(),
                "{name}: cloud-init cannot parse {}:\n{}\n--- network-config ---\n{}",
                a.path,
                String::from_utf8_lossy(&o.stderr),
                a.contents
            );
            let parsed: serde_json::Value =
                serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
            let vm_settings = h.vm.as_ref().unwrap_or_else(|| panic!("{vm} is no VM"));
            let iface = &parsed[0];
            assert_eq!(
                iface["mac"],
                sparkc_targets::cloudinit::mac_address(h, vm_settings).as_str(),
                "{name}: {vm}'s interface is matched by another MAC: {parsed}"
            );
            let subnet = &iface["subnets"][0];
            match (h.address, h.subnet) {
                (Some(ip), Some(s)) => {
                    assert_eq!(subnet["type"], "static", "{name}: {vm}: {parsed}");
                    assert_eq!(subnet["address"], ip.to_string(), "{name}: {vm}: {parsed}");
                    assert_eq!(subnet["prefix"], s.prefix, "{name}: {vm}: {parsed}");
                    if let Some(gw) = h.gateway {
                        assert_eq!(
                            subnet["routes"][0]["gateway"],
                            gw.to_string(),
                            "{name}: {vm}: {parsed}"
                        );
                        assert_eq!(subnet["routes"][0]["prefix"], 0, "{name}: {vm}: {parsed}");
                    }
                    let dns: Vec<String> = h.nameservers.iter().map(ToString::to_string).collect();
                    assert_eq!(
                        subnet["dns_nameservers"],
                        serde_json::json!(dns),
                        "{name}: {vm}: {parsed}"
                    );
                }
                _ => assert_eq!(subnet["type"], "dhcp4", "{name}: {vm}: {parsed}"),
            }
            checked += 1;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        checked >= 2,
        "only {checked} network-config files were checked"
    );
}

#[test]
fn every_meta_data_names_its_instance_and_host() {
    let checked = each_generated("/meta-data", |name, _, a| {
        let vm = a.path.split('/').nth(1).unwrap_or("");
        let doc: serde_json::Value =
            serde_saphyr::from_str(&a.contents).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc["local-hostname"], vm, "{name}: {}", a.contents);
        assert!(
            doc["instance-id"].as_str().is_some_and(|i| i.ends_with(vm)),
            "{name}: {}",
            a.contents
        );
    });
    assert!(checked >= 2, "only {checked} meta-data files were checked");
}

#[test]
fn shellcheck_accepts_every_provisioning_script() {
    let bin = tool("SPARKC_SHELLCHECK", "shellcheck");
    let checked = each_generated("/provision.sh", |name, file, a| {
        let o = Command::new(&bin)
            .args(["--shell=bash", "--severity=style"])
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            o.status.success(),
            "{name}: shellcheck on {}:\n{}",
            a.path,
            String::from_utf8_lossy(&o.stdout)
        );
    });
    assert!(checked >= 1, "no provisioning script was checked");
}

/// Stand-ins for Proxmox's `qm` and `pvesm`, keeping each VM's state in a directory: a VM
/// exists once cloned (its disk the template's 2 GiB), `qm config` shows its disk's size,
/// `qm resize` sets it, `qm start` starts it; every call is logged.
const FAKE_QM: &str = r#"#!/bin/sh
set -eu
state="$FAKE_PVE"
echo "qm $*" >> "$state/log"
cmd="$1"; shift
case "$cmd" in
  status)
    [ -d "$state/vm/$1" ] || { echo "Configuration file 'nodes/pve/qemu-server/$1.conf' does not exist" >&2; exit 2; }
    if [ -f "$state/vm/$1/running" ]; then echo "status: running"; else echo "status: stopped"; fi ;;
  clone)
    [ -d "$state/vm/$1" ] || { echo "no template $1" >&2; exit 2; }
    [ ! -d "$state/vm/$2" ] || { echo "VM $2 exists" >&2; exit 2; }
    mkdir -p "$state/vm/$2"; echo "2G" > "$state/vm/$2/size" ;;
  config)
    echo "boot: order=scsi0"
    for d in scsi0 virtio0; do echo "$d: local-lvm:vm-$1-disk-0,size=$(cat "$state/vm/$1/size")"; done ;;
  set) [ -d "$state/vm/$1" ] ;;
  resize) echo "$3" > "$state/vm/$1/size" ;;
  start) touch "$state/vm/$1/running" ;;
  *) echo "unknown qm $cmd" >&2; exit 2 ;;
esac
"#;

const FAKE_PVESM: &str = r#"#!/bin/sh
set -eu
echo "pvesm $*" >> "$FAKE_PVE/log"
[ "$1" = path ] || exit 2
storage="${2%%:*}"; rest="${2#*:}"
mkdir -p "$FAKE_PVE/storage/$storage/$(dirname "$rest")"
echo "$FAKE_PVE/storage/$storage/$rest"
"#;

#[test]
fn a_provisioning_script_creates_each_vm_once_and_then_only_updates_it() {
    for fixture in ["cloudinit_vms", "cloudinit_cluster"] {
        provision_twice(fixture);
    }
}

/// The token the cluster fixture's members join with, as provision.sh finds it in its
/// environment.
const TOKEN: &str = "K10test-token.0123456789abcdef";

fn provision_twice(fixture: &str) {
    let fixture = sparkc_snapshots::workspace().join(format!("snapshots/build/{fixture}.spark"));
    let out = sparkc_snapshots::compile_build_fixture(&fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let dir = std::env::temp_dir().join(format!(
        "sparkc-provision-{}-{}",
        std::process::id(),
        fixture.display().to_string().len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    sparkc_snapshots::real::write_artifacts(&dir.join("out"), &out.artifacts);
    let pve = dir.join("pve");
    let bin = dir.join("bin");
    for d in [&pve.join("vm/9000"), &bin] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(pve.join("vm/9000/size"), "2G").unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in [("qm", FAKE_QM), ("pvesm", FAKE_PVESM)] {
        let f = bin.join(name);
        std::fs::write(&f, text).unwrap_or_else(|e| panic!("{e}"));
        let mut perm = std::fs::metadata(&f)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&f, perm).unwrap_or_else(|e| panic!("{e}"));
    }
    let script = dir.join("out/proxmox/pve/provision.sh");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let clustered = !out.model.clusters.is_empty();
    if clustered {
        // Without the token in its environment it stops before it creates anything.
        let o = Command::new("bash")
            .arg(&script)
            .env("PATH", &path)
            .env("FAKE_PVE", &pve)
            .env_remove("K3S_TOKEN")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("K3S_TOKEN"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let log = std::fs::read_to_string(pve.join("log")).unwrap_or_default();
        assert!(!log.contains("qm clone"), "{log}");
    }
    let run = || {
        let _ = std::fs::remove_file(pve.join("log"));
        let o = Command::new("bash")
            .arg(&script)
            .env("PATH", &path)
            .env("FAKE_PVE", &pve)
            .env("K3S_TOKEN", TOKEN)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            o.status.success(),
            "provision.sh failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read_to_string(pve.join("log")).unwrap_or_default()
    };
    let count = |log: &str, what: &str| log.lines().filter(|l| l.starts_with(what)).count();
    let first = run();
    for vm in out.model.hosts.iter().filter(|h| h.vm.is_some()) {
        let v = vm.vm.as_ref().map_or(0, |v| v.id);
        let size = std::fs::read_to_string(pve.join(format!("vm/{v}/size"))).unwrap_or_default();
        let want_kib = vm.disk.unwrap_or(0).div_ceil(1024);
        assert_eq!(
            size.trim(),
            format!("{want_kib}K"),
            "{}: its disk was not grown:\n{first}",
            vm.name
        );
        assert!(
            pve.join(format!("vm/{v}/running")).exists(),
            "{} was not started:\n{first}",
            vm.name
        );
        for part in ["user-data", "network-config", "meta-data"] {
            let placed = pve.join(format!(
                "storage/{}/snippets/sparkc-{}-{part}.yaml",
                vm.vm.as_ref().map_or("", |v| v.snippets.as_str()),
                vm.name
            ));
            // As written, the token filled in: no artifact holds it.
            let want = out
                .artifacts
                .iter()
                .find(|a| a.path == format!("cloudinit/{}/{part}", vm.name))
                .map(|a| a.contents.replace("${K3S_TOKEN}", TOKEN));
            assert!(
                out.artifacts.iter().all(|a| !a.contents.contains(TOKEN)),
                "an artifact holds the token"
            );
            if clustered && part == "user-data" {
                assert!(
                    want.as_deref().is_some_and(|w| w.contains(TOKEN)),
                    "{}: no token to fill in",
                    vm.name
                );
            }
            assert_eq!(
                std::fs::read_to_string(&placed).ok(),
                want,
                "{}: {part} not placed as a snippet",
                vm.name
            );
        }
    }
    let vms = out.model.hosts.iter().filter(|h| h.vm.is_some()).count();
    assert_eq!(count(&first, "qm clone"), vms, "{first}");
    assert_eq!(count(&first, "qm resize"), vms, "{first}");
    assert_eq!(count(&first, "qm start"), vms, "{first}");
    assert_eq!(count(&first, "qm set"), vms, "{first}");
    // Again: nothing is created, grown or started; the settings are set again.
    let second = run();
    assert_eq!(count(&second, "qm clone"), 0, "{second}");
    assert_eq!(count(&second, "qm resize"), 0, "{second}");
    assert_eq!(count(&second, "qm start"), 0, "{second}");
    assert_eq!(count(&second, "qm set"), vms, "{second}");
    // Not on a Proxmox host: it says so and stops before doing anything.
    let o = Command::new("bash")
        .arg(&script)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("run this on"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
