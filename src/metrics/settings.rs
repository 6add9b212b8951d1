//! `[metrics]` settings: where the Prometheus endpoint listens, if anywhere.

use std::net::SocketAddr;

/// The `[metrics]` table of the settings file (`BANKSCORE_METRICS_LISTEN`, `--metrics-listen`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address of the `GET /metrics` listener; `None` (the default) turns the endpoint off.
    /// Keep it on loopback or a private interface: the metrics name model versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

impl MetricsSettings {
    /// The endpoint listens on an address other hosts can reach.
    pub fn is_exposed(&self) -> bool {
        self.listen.is_some_and(|a| !a.ip().is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_off_by_default_and_a_listen_address_reads_from_toml() {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(default)]
            metrics: MetricsSettings,
        }
        let off: File = toml::from_str("").unwrap();
        assert_eq!(off.metrics, MetricsSettings::default());
        assert_eq!(off.metrics.listen, None);
        let on: File = toml::from_str("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
        assert_eq!(on.metrics.listen, Some("127.0.0.1:9464".parse().unwrap()));
        assert!(!on.metrics.is_exposed());
        let wide = MetricsSettings {
            listen: Some("0.0.0.0:9464".parse().unwrap()),
        };
        assert!(wide.is_exposed());
        let text = toml::to_string(&wide).unwrap();
        assert_eq!(toml::from_str::<MetricsSettings>(&text).unwrap(), wide);
    }
}
