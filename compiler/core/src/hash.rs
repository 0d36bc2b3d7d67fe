//! The project's two content hashes. Both detect change; neither is a defence against
//! someone crafting a collision.
//! - [`content_hash`] (XXH3, 64 bits): whole files — the output directory's manifest, the
//!   build stamp, the parse cache. Fast on megabytes.
//! - [`fnv64`] (FNV-1a, 64 bits): the config-hash label Compose recreates a container by
//!   (its values are in generated files, so it stays what it was), and the hash that
//!   manifests of format 1 recorded.

/// XXH3-64 of `bytes`: the hash of whole files.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// FNV-1a of `bytes`.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h = Fnv64::default();
    h.write(bytes);
    h.finish()
}

/// FNV-1a over several pieces, as if concatenated.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let mut h = super::Fnv64::default();
        h.write(b"a");
        h.write(b"b");
        assert_eq!(h.finish(), super::fnv64(b"ab"));
    }
}
