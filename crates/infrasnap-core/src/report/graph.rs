//! The estate map: DNS name → CloudFront distribution → origin (bucket, API, function, host) →
//! data, one panel per environment (prod, staging/dev/test, unclassified) side by side. A
//! non-prod path into a prod resource is a cross-environment edge; a target that is not in the
//! snapshot is a missing node at the end of a dangling edge.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::findings::estate::{bucket_of_host, env_in_text, env_of, Env, Estate, Res};
use crate::findings::FindingsReport;
use crate::manifest::human_bytes;

/// Nodes per column of a panel (the rest are counted in a last node).
pub const MAX_PER_COLUMN: usize = 40;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Unique within its panel.
    pub key: String,
    pub label: String,
    pub sub: String,
    /// dns, cloudfront, bucket, api, function, host, data, missing, more.
    pub kind: String,
    /// prod, nonprod or none.
    pub env: String,
    /// The resource id, when it is one.
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// "", "cross-env" or "dangling".
    pub class: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Panel {
    pub title: String,
    /// prod, nonprod or none.
    pub env: String,
    /// DNS, CloudFront, origin, data.
    pub columns: [Vec<Node>; 4],
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    pub panels: Vec<Panel>,
}

fn env_name(e: &Option<Env>) -> &'static str {
    match e {
        Some(Env::Prod) => "prod",
        Some(Env::NonProd(_)) => "nonprod",
        None => "none",
    }
}

#[derive(Default)]
struct Builder {
    cols: [BTreeMap<String, Node>; 4],
    edges: BTreeSet<(String, String, String)>,
}

impl Builder {
    fn node(&mut self, col: usize, n: Node) -> String {
        let k = n.key.clone();
        self.cols[col].entry(k.clone()).or_insert(n);
        k
    }
    fn edge(&mut self, from: &str, to: &str, class: &str) {
        self.edges
            .insert((from.to_string(), to.to_string(), class.to_string()));
    }
}

fn dist_env(d: &Res) -> Option<Env> {
    let mut extra: Vec<&str> = d
        .arr("/DistributionConfig/Aliases/Items")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if let Some(c) = d.str("/DistributionConfig/Comment") {
        extra.push(c);
    }
    env_of(d, &extra)
}

/// DNS records and what they point at: (record name, target host).
fn records(e: &Estate) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in e.of_kind("aws.route53.record_set") {
        let name = r
            .str("/Name")
            .unwrap_or("")
            .trim_end_matches('.')
            .to_string();
        let target = if let Some(t) = r.str("/AliasTarget/DNSName") {
            t
        } else if r.str("/Type") == Some("CNAME") {
            match r
                .arr("/ResourceRecords")
                .first()
                .and_then(|v| v.get("Value"))
            {
                Some(Value::String(s)) => s.as_str(),
                _ => continue,
            }
        } else {
            continue;
        };
        out.push((name, target.trim_end_matches('.').to_ascii_lowercase()));
    }
    out
}

pub fn build(e: &Estate, findings: &FindingsReport) -> Graph {
    let buckets: BTreeMap<&str, &Res> = e
        .of_kind("aws.s3.bucket")
        .map(|b| (b.id.id.as_str(), b))
        .collect();
    let dists: Vec<&Res> = e.of_kind("aws.cloudfront.distribution").collect();
    let by_domain: BTreeMap<String, &Res> = dists
        .iter()
        .filter_map(|d| Some((d.str("/DomainName")?.to_ascii_lowercase(), *d)))
        .collect();
    let cross: BTreeSet<&str> = findings
        .findings
        .iter()
        .filter(|f| f.rule == "wiring.cross-env" && f.state != crate::findings::State::Resolved)
        .map(|f| f.resource.as_str())
        .collect();
    let mut panels: BTreeMap<&'static str, Builder> = BTreeMap::new();
    let bucket_env = |name: &str| buckets.get(name).map(|b| env_of(b, &[]));

    let bucket_nodes =
        |bl: &mut Builder, name: &str, from: &str, from_env: &Option<Env>, path: &str| {
            let benv = bucket_env(name);
            let missing = benv.is_none();
            let benv = benv.flatten();
            let key = format!("bucket:{name}");
            let sub = if missing {
                "not in the snapshot".to_string()
            } else if path.is_empty() {
                "S3 bucket".to_string()
            } else {
                format!("S3 bucket, path {path}")
            };
            bl.node(
                2,
                Node {
                    key: key.clone(),
                    label: name.to_string(),
                    sub,
                    kind: if missing {
                        "missing".into()
                    } else {
                        "bucket".into()
                    },
                    env: env_name(&benv).into(),
                    id: buckets.get(name).map(|b| b.id.to_string()),
                },
            );
            let class = if missing {
                "dangling"
            } else if matches!(from_env, Some(Env::NonProd(_))) && matches!(benv, Some(Env::Prod)) {
                "cross-env"
            } else {
                ""
            };
            bl.edge(from, &key, class);
            if let Some(b) = buckets.get(name) {
                let objects = b
                    .doc
                    .get("object_count")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let bytes = b
                    .doc
                    .get("total_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let dk = format!("data:{name}");
                bl.node(
                    3,
                    Node {
                        key: dk.clone(),
                        label: format!("{objects} objects"),
                        sub: human_bytes(bytes),
                        kind: "data".into(),
                        env: env_name(&benv).into(),
                        id: None,
                    },
                );
                bl.edge(&key, &dk, "");
            }
        };

    for d in &dists {
        let denv = dist_env(d);
        let mut denv_for_edges = denv.clone();
        if cross.contains(d.id.to_string().as_str()) && denv.is_none() {
            denv_for_edges = Some(Env::NonProd("?".into()));
        }
        let bl = panels.entry(env_name(&denv)).or_default();
        let aliases: Vec<&str> = d
            .arr("/DistributionConfig/Aliases/Items")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let dk = bl.node(
            1,
            Node {
                key: format!("cf:{}", d.id.id),
                label: d.id.id.clone(),
                sub: aliases
                    .first()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| d.str("/DomainName").unwrap_or("").to_string()),
                kind: "cloudfront".into(),
                env: env_name(&denv).into(),
                id: Some(d.id.to_string()),
            },
        );
        for o in d.arr("/DistributionConfig/Origins/Items") {
            let host = o
                .get("DomainName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let path = o.get("OriginPath").and_then(Value::as_str).unwrap_or("");
            if let Some((b, _)) = bucket_of_host(&host) {
                bucket_nodes(bl, &b, &dk, &denv_for_edges, path);
            } else if host.contains(".execute-api.") {
                let id = host.split('.').next().unwrap_or("").to_string();
                let api = e
                    .of_kind("aws.apigateway.rest_api")
                    .chain(e.of_kind("aws.apigatewayv2.api"))
                    .find(|a| a.id.id.eq_ignore_ascii_case(&id));
                let ak = format!("api:{id}");
                let aenv = api.and_then(|a| {
                    env_of(
                        a,
                        &[a.str("/restApi/name").or(a.str("/Api/Name")).unwrap_or("")],
                    )
                });
                bl.node(
                    2,
                    Node {
                        key: ak.clone(),
                        label: api
                            .and_then(|a| a.str("/restApi/name").or(a.str("/Api/Name")))
                            .unwrap_or(&id)
                            .to_string(),
                        sub: if api.is_some() {
                            format!("API {id}")
                        } else {
                            "not in the snapshot".into()
                        },
                        kind: if api.is_some() {
                            "api".into()
                        } else {
                            "missing".into()
                        },
                        env: env_name(&aenv).into(),
                        id: api.map(|a| a.id.to_string()),
                    },
                );
                let class = if api.is_none() {
                    "dangling"
                } else if matches!(denv_for_edges, Some(Env::NonProd(_)))
                    && matches!(aenv, Some(Env::Prod))
                {
                    "cross-env"
                } else {
                    ""
                };
                bl.edge(&dk, &ak, class);
                if let Some(a) = api {
                    let mut found = Vec::new();
                    crate::findings::rules::strings_pub(&a.doc, &mut found);
                    let mut fns = BTreeSet::new();
                    for (_, s) in found {
                        if let Some(rest) = s.split(":function:").nth(1) {
                            fns.insert(rest.split([':', '/']).next().unwrap_or("").to_string());
                        }
                    }
                    for f in fns {
                        let fk = format!("fn:{f}");
                        bl.node(
                            3,
                            Node {
                                key: fk.clone(),
                                label: f.clone(),
                                sub: "Lambda function".into(),
                                kind: "function".into(),
                                env: env_name(&env_in_text(&f)).into(),
                                id: None,
                            },
                        );
                        bl.edge(&ak, &fk, "");
                    }
                }
            } else {
                let hk = format!("host:{host}");
                let kind = if host.contains(".lambda-url.") {
                    "function"
                } else {
                    "host"
                };
                bl.node(
                    2,
                    Node {
                        key: hk.clone(),
                        label: host.clone(),
                        sub: if kind == "function" {
                            "Lambda function URL".into()
                        } else {
                            "custom origin".into()
                        },
                        kind: kind.into(),
                        env: env_name(&env_in_text(&host)).into(),
                        id: None,
                    },
                );
                bl.edge(&dk, &hk, "");
            }
        }
    }

    for (name, target) in records(e) {
        if let Some(d) = by_domain.get(&target) {
            let denv = dist_env(d);
            let bl = panels.entry(env_name(&denv)).or_default();
            let rk = bl.node(
                0,
                Node {
                    key: format!("dns:{name}"),
                    label: name.clone(),
                    sub: "DNS".into(),
                    kind: "dns".into(),
                    env: env_name(&denv).into(),
                    id: None,
                },
            );
            bl.edge(&rk, &format!("cf:{}", d.id.id), "");
            continue;
        }
        let renv = env_in_text(&name);
        if target.ends_with(".cloudfront.net") {
            let dangling = findings.findings.iter().any(|f| {
                f.rule == "dns.dangling"
                    && f.resource.contains(&format!("/{name}."))
                    && f.state != crate::findings::State::Resolved
            });
            if !dangling {
                continue; // an API Gateway edge domain or another account's distribution
            }
            let bl = panels.entry(env_name(&renv)).or_default();
            let rk = bl.node(
                0,
                Node {
                    key: format!("dns:{name}"),
                    label: name.clone(),
                    sub: "DNS".into(),
                    kind: "dns".into(),
                    env: env_name(&renv).into(),
                    id: None,
                },
            );
            let mk = bl.node(
                1,
                Node {
                    key: format!("cf:{target}"),
                    label: target.clone(),
                    sub: "not in the snapshot".into(),
                    kind: "missing".into(),
                    env: "none".into(),
                    id: None,
                },
            );
            bl.edge(&rk, &mk, "dangling");
            continue;
        }
        let bucket = bucket_of_host(&target).map(|(b, _)| b).or_else(|| {
            (target.starts_with("s3-website") && target.ends_with(".amazonaws.com"))
                .then(|| name.to_ascii_lowercase())
        });
        if let Some(b) = bucket {
            let bl = panels.entry(env_name(&renv)).or_default();
            let rk = bl.node(
                0,
                Node {
                    key: format!("dns:{name}"),
                    label: name.clone(),
                    sub: "DNS".into(),
                    kind: "dns".into(),
                    env: env_name(&renv).into(),
                    id: None,
                },
            );
            bucket_nodes(bl, &b, &rk, &renv, "");
        }
    }

    let order = [
        ("prod", "Prod"),
        ("nonprod", "Staging, dev and test"),
        ("none", "Unclassified"),
    ];
    let mut out = Graph::default();
    for (env, title) in order {
        let Some(b) = panels.remove(env) else {
            continue;
        };
        let mut columns: [Vec<Node>; 4] = Default::default();
        for (i, col) in b.cols.into_iter().enumerate() {
            let total = col.len();
            let mut nodes: Vec<Node> = col.into_values().collect();
            if total > MAX_PER_COLUMN {
                nodes.truncate(MAX_PER_COLUMN - 1);
                nodes.push(Node {
                    key: format!("more:{i}"),
                    label: format!("{} more", total - (MAX_PER_COLUMN - 1)),
                    sub: String::new(),
                    kind: "more".into(),
                    env: "none".into(),
                    id: None,
                });
            }
            columns[i] = nodes;
        }
        let keys: BTreeSet<&str> = columns.iter().flatten().map(|n| n.key.as_str()).collect();
        let edges = b
            .edges
            .into_iter()
            .filter(|(f, t, _)| keys.contains(f.as_str()) && keys.contains(t.as_str()))
            .map(|(from, to, class)| Edge { from, to, class })
            .collect();
        out.panels.push(Panel {
            title: title.into(),
            env: env.into(),
            columns,
            edges,
        });
    }
    out
}
