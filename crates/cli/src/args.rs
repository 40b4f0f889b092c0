//! Value parsers for the numeric options shared by the subcommands: a number that
//! makes no sense is a usage error (clap's message, exit code 2), never a panic or a
//! search that silently does nothing.

use std::time::Duration;

/// The longest `--max-time` accepted: a year.
pub const MAX_TIME_SECS: f64 = 365.0 * 24.0 * 3600.0;
/// The most `--jobs` accepted.
pub const MAX_JOBS: usize = 4096;

/// `--max-time SECONDS`: finite, positive, at most a year.
pub fn max_time(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds (e.g. 30 or 0.5)"))?;
    if !v.is_finite() {
        return Err(format!(
            "`{s}` is not a finite number of seconds; give a time limit such as 60, or leave the option out for no limit"
        ));
    }
    if v <= 0.0 {
        return Err(format!(
            "the time limit must be more than 0 seconds (got {s}); leave the option out for no limit"
        ));
    }
    if v > MAX_TIME_SECS {
        return Err(format!(
            "{s} seconds is more than a year ({MAX_TIME_SECS} s); leave the option out for no limit"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A real number in `(0, max]`.
fn positive_real(s: &str, what: &str, max: f64) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of {what} (e.g. 10 or 0.5)"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("must be a finite number above 0 (got {s})"));
    }
    if v > max {
        return Err(format!("must be at most {max} {what} (got {s})"));
    }
    Ok(v)
}

/// Live-mode durations in seconds (`--duration`, `--timeout`, `--hung-task-timeout`):
/// finite, positive, at most a year.
pub fn seconds(s: &str) -> Result<f64, String> {
    positive_real(s, "seconds", MAX_TIME_SECS)
}

/// `--time-scale X`: real seconds per model second, in `(0, 1000]`.
pub fn time_scale(s: &str) -> Result<f64, String> {
    positive_real(s, "real seconds per model second", 1000.0)
}

fn positive<T>(s: &str, what: &str, hint: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
{
    if s.trim().starts_with('-') {
        return Err(format!("must be at least 1 (got {s}); {hint}"));
    }
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number of {what}"))?;
    if v < T::from(1) {
        return Err(format!("must be at least 1 (got {s}); {hint}"));
    }
    Ok(v)
}

/// `--max-executions N`: at least 1.
pub fn max_executions(s: &str) -> Result<u64, String> {
    positive(
        s,
        "executions",
        "leave the option out for an exhaustive search",
    )
}

/// `--max-steps N`: at least 1 (the bound on the steps of one execution).
pub fn max_steps(s: &str) -> Result<u32, String> {
    positive(
        s,
        "steps",
        "it bounds the steps of one execution (default 20000)",
    )
}

/// `--jobs N`: 1 to [`MAX_JOBS`].
pub fn jobs(s: &str) -> Result<usize, String> {
    let v: usize = positive(s, "jobs", "leave the option out for one search per core")?;
    if v > MAX_JOBS {
        return Err(format!(
            "{v} jobs is more than {MAX_JOBS}; leave the option out for one search per core"
        ));
    }
    Ok(v)
}

/// `--shard K/N`: shard K (0-based) of N.
pub fn shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not K/N; e.g. 0/4 is the first of 4 shards"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("in `{s}`, K is not a whole number; e.g. 0/4"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("in `{s}`, N is not a whole number; e.g. 0/4"))?;
    if n == 0 {
        return Err(format!(
            "in `{s}`, N must be at least 1 (the number of shards)"
        ));
    }
    if k >= n {
        return Err(format!(
            "in `{s}`, K must be below N (shards are numbered from 0: 0/{n} … {}/{n})",
            n - 1
        ));
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_numbers_reject_nonsense() {
        for bad in ["0", "-1", "nan", "inf", "x", "1e30"] {
            assert!(seconds(bad).is_err(), "{bad}");
            assert!(time_scale(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds("0.5"), Ok(0.5));
        assert_eq!(time_scale("0.001"), Ok(0.001));
    }

    #[test]
    fn max_time_rejects_nonsense() {
        for bad in [
            "nan", "NaN", "inf", "-inf", "1e30", "0", "-1", "-0", "x", "",
        ] {
            assert!(max_time(bad).is_err(), "{bad}");
        }
        assert_eq!(max_time("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(max_time("60"), Ok(Duration::from_secs(60)));
        assert!(max_time("31536000").is_ok());
        assert!(max_time("31536001").is_err());
    }

    #[test]
    fn counts_reject_zero() {
        assert!(max_executions("0").is_err());
        assert!(max_executions("-3").is_err());
        assert_eq!(max_executions("5"), Ok(5));
        assert!(max_steps("0").is_err());
        assert!(max_steps("99999999999").is_err());
        assert_eq!(max_steps("100"), Ok(100));
        assert!(jobs("0").is_err());
        assert!(jobs("100000").is_err());
        assert_eq!(jobs("2"), Ok(2));
    }

    #[test]
    fn shards() {
        assert_eq!(shard("0/4"), Ok((0, 4)));
        assert_eq!(shard("3/4"), Ok((3, 4)));
        for bad in ["4/4", "5/4", "0/0", "1", "a/2", "1/b", "-1/2", "/"] {
            assert!(shard(bad).is_err(), "{bad}");
        }
    }
}
