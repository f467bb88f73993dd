//! Which server gets the next request: pure code over a snapshot of the
//! pool ([`Candidate`]s), no I/O, no clock. The backend builds the snapshot,
//! asks [`Balancer::pick`] and then claims a slot on the chosen server.
//!
//! - `roundrobin`: smooth weighted round robin (nginx's algorithm): every
//!   pick adds each eligible server's weight to its running score, takes the
//!   highest and subtracts the total from it. Equal weights alternate
//!   strictly; weights 5:1:1 give `a a b a c a a`, never long bursts.
//! - `leastconn`: fewest requests in flight relative to weight; ties go
//!   round robin so an idle pool still alternates.
//! - `random`: power of two choices (haproxy's `random(2)`): two servers
//!   drawn at random in proportion to weight, the less loaded one wins.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The balancing algorithm of one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Balance {
    RoundRobin,
    LeastConn,
    Random,
}

/// One server as the balancer sees it at the moment of a pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Stable identity across pool updates (scores follow it).
    pub id: u64,
    pub weight: u32,
    /// Requests in flight.
    pub active: u32,
    /// In service: up (health) with a weight above 0. Round robin starts
    /// over when the set of servers in service changes.
    pub in_service: bool,
    /// In service, below its maxconn, not excluded by a retry.
    pub eligible: bool,
}

/// Balancer state for one backend.
#[derive(Debug)]
pub struct Balancer {
    kind: Balance,
    /// Smooth round robin scores by server id.
    scores: HashMap<u64, i64>,
    /// Which servers were in service at the last round robin pick.
    in_service: u64,
    /// Rotates leastconn ties.
    ties: usize,
    rng: XorShift,
}

impl Balancer {
    #[must_use]
    pub fn new(kind: Balance, seed: u64) -> Self {
        Self { kind, scores: HashMap::new(), in_service: 0, ties: 0, rng: XorShift::new(seed) }
    }

    /// Index into `servers` of the server for the next request, or `None`
    /// when no server is eligible.
    pub fn pick(&mut self, servers: &[Candidate]) -> Option<usize> {
        let eligible = servers.iter().filter(|c| c.eligible && c.weight > 0).count();
        match eligible {
            0 => None,
            _ => match self.kind {
                Balance::RoundRobin => self.round_robin(servers),
                Balance::LeastConn => self.least_conn(servers),
                Balance::Random => self.two_choices(servers),
            },
        }
    }

    fn round_robin(&mut self, servers: &[Candidate]) -> Option<usize> {
        // Scores left from another set of servers (one was down, or added,
        // or removed) would bend the rotation for a while (s3 s2 s3 s1 ...
        // after s3 comes back); with the set changed, start over in order.
        let in_service = in_service_fingerprint(servers);
        if in_service != self.in_service {
            self.in_service = in_service;
            self.scores.clear();
        }
        let mut total = 0_i64;
        let mut best: Option<(usize, i64)> = None;
        for (i, c) in servers.iter().enumerate().filter(|(_, c)| c.eligible && c.weight > 0) {
            let score = self.scores.entry(c.id).or_insert(0);
            *score += i64::from(c.weight);
            total += i64::from(c.weight);
            if best.is_none_or(|(_, s)| *score > s) {
                best = Some((i, *score));
            }
        }
        let (i, _) = best?;
        *self.scores.entry(servers[i].id).or_insert(0) -= total;
        Some(i)
    }

    fn least_conn(&mut self, servers: &[Candidate]) -> Option<usize> {
        let eligible = || servers.iter().enumerate().filter(|(_, c)| c.eligible && c.weight > 0);
        let (_, best) = eligible().min_by(|(_, a), (_, b)| load_cmp(a, b))?;
        let tied: Vec<usize> =
            eligible().filter(|(_, c)| load_cmp(c, best).is_eq()).map(|(i, _)| i).collect();
        let i = tied[self.ties % tied.len()];
        self.ties = self.ties.wrapping_add(1);
        Some(i)
    }

    fn two_choices(&mut self, servers: &[Candidate]) -> Option<usize> {
        let first = self.weighted_draw(servers, None)?;
        let Some(second) = self.weighted_draw(servers, Some(first)) else {
            return Some(first);
        };
        if load_cmp(&servers[second], &servers[first]).is_lt() {
            Some(second)
        } else {
            Some(first)
        }
    }

    /// A random eligible server, in proportion to weight, never `skip`.
    fn weighted_draw(&mut self, servers: &[Candidate], skip: Option<usize>) -> Option<usize> {
        let usable = |i: usize, c: &Candidate| c.eligible && c.weight > 0 && Some(i) != skip;
        let total: u64 = servers
            .iter()
            .enumerate()
            .filter(|(i, c)| usable(*i, c))
            .map(|(_, c)| u64::from(c.weight))
            .sum();
        if total == 0 {
            return None;
        }
        let mut ticket = self.rng.below(total);
        for (i, c) in servers.iter().enumerate().filter(|(i, c)| usable(*i, c)) {
            let w = u64::from(c.weight);
            if ticket < w {
                return Some(i);
            }
            ticket -= w;
        }
        None
    }
}

/// Identifies the set of servers in service (and their weights): a change
/// of either changes it, with a negligible chance of collision.
fn in_service_fingerprint(servers: &[Candidate]) -> u64 {
    servers.iter().filter(|c| c.in_service).fold(0x9E37_79B9_7F4A_7C15, |acc, c| {
        let mixed = (c.id ^ (u64::from(c.weight) << 48)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        acc.rotate_left(7) ^ mixed ^ (mixed >> 31)
    })
}

/// Compares `active / weight` without division (weights are above 0).
fn load_cmp(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    (u64::from(a.active) * u64::from(b.weight)).cmp(&(u64::from(b.active) * u64::from(a.weight)))
}

/// xorshift64*: enough randomness for load spreading, deterministic under a
/// seed so tests can replay a sequence.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0), by rejection to avoid modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

#[cfg(test)]
mod tests;
