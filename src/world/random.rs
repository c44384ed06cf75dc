//! Hashes and random streams: every number of the synthetic traffic comes from here,
//! seeded by what it describes, so the same seed always gives the same traffic.

/// Formats 128 bits as a version-4-shaped UUID (`8-4-4-4-12` hex). Genesys ids
/// (queues, users, wrap-up codes, correlation ids) all look like this.
pub(crate) fn uuid_from_bits(bits: u128) -> String {
    // Set the version (4) and variant (10xx) bits so the ids look like real v4 UUIDs.
    let bits = (bits & !(0xf << 76)) | (0x4 << 76);
    let bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 finaliser: a cheap, well-mixed 64-bit permutation.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a tuple of integers to 64 well-mixed bits.
pub(crate) fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x243F_6A88_85A3_08D3, |h, &p| {
        mix(h.wrapping_add(GOLDEN) ^ p)
    })
}

pub(crate) fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A deterministic id shaped like a UUID, derived from `(seed, tag, index)`.
pub(crate) fn stable_uuid(seed: u64, tag: u64, index: u64) -> String {
    let hi = u128::from(hash(&[seed, tag, index, 0]));
    let lo = u128::from(hash(&[seed, tag, index, 1]));
    uuid_from_bits((hi << 64) | lo)
}

/// The random stream of one conversation (splitmix64 seeded by a hash).
pub(super) struct Draws(pub(super) u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
    /// Uniform in `[0, 1)`.
    pub(super) fn unit(&mut self) -> f64 {
        unit(self.next())
    }
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform integer in `[lo, hi]`.
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.unit() * (hi - lo + 1) as f64) as i64
    }
    pub(super) fn index(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
    /// Exponentially distributed with the given mean.
    pub(super) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
    /// Log-normal with the given median and shape.
    pub(super) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        // Box-Muller: one standard normal from two uniforms.
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        median * (sigma * z).exp()
    }
}

/// Inverse-CDF Poisson sample for a small mean `lambda` from a uniform `u`.
pub(crate) fn poisson(lambda: f64, u: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    let mut p = (-lambda).exp();
    let mut cdf = p;
    let mut k = 0;
    while u > cdf && k < 100 {
        k += 1;
        p *= lambda / f64::from(k);
        cdf += p;
    }
    k
}
