//! A raw client for either wire, with frames written and read as JSON values (the
//! MessagePack wire's maps are the same maps): for tests that run once per wire.

use super::{encode, ping, Ended, RawClient, TestServer};
use serde_json::{json, Value as Json};
use streampod::Encoding;

/// A raw client speaking either wire, with frames written and read as JSON values (the
/// MessagePack wire's maps are the same maps).
pub struct EitherWire {
    pub raw: RawClient,
    wire: Encoding,
}

impl EitherWire {
    pub async fn connect(server: &TestServer, wire: Encoding) -> Self {
        EitherWire {
            raw: RawClient::connect(server).await,
            wire,
        }
    }

    pub async fn send(&mut self, kind: &str, data: Json) {
        let frame = json!({"type": kind, "data": data});
        match self.wire {
            Encoding::Json => self.raw.send_text(&frame.to_string()).await,
            _ => self.raw.send(encode(&to_msgpack(&frame))).await,
        }
    }

    /// Opens `en.m` with no arguments and inputs `is`, granting `fc` when given.
    pub async fn open(&mut self, en: &str, m: &str, cid: &str, is: &[&str], fc: Option<u64>) {
        self.open_with(en, m, cid, json!({}), is, fc).await
    }

    pub async fn open_with(
        &mut self,
        en: &str,
        m: &str,
        cid: &str,
        args: Json,
        is: &[&str],
        fc: Option<u64>,
    ) {
        // The JSON wire carries `args` as a JSON string.
        let args = match self.wire {
            Encoding::Json => Json::from(args.to_string()),
            _ => args,
        };
        let mut data = json!({"en": en, "m": m, "cid": cid, "args": args, "is": is});
        if let Some(fc) = fc {
            data["fc"] = fc.into();
        }
        self.send("omsc", data).await;
    }

    pub async fn value(&mut self, en: &str, m: &str, cid: &str, p: &str, v: i64) {
        let o = json!({"className": "int", "data": v});
        self.send("msm", json!({"en": en, "m": m, "cid": cid, "p": p, "o": o}))
            .await;
    }

    pub async fn credit(&mut self, en: &str, m: &str, cid: &str, n: Json) {
        self.send("crd", json!({"en": en, "m": m, "cid": cid, "n": n}))
            .await;
    }

    pub async fn ping(&mut self) {
        match self.wire {
            Encoding::Json => self.raw.send_text(r#"{"type":"ping"}"#).await,
            _ => self.raw.send(ping()).await,
        }
    }

    /// The next frame: its type and its data.
    pub async fn next(&mut self) -> Result<(String, Json), Ended> {
        let frame: Json = match self.wire {
            Encoding::Json => serde_json::from_str(&self.raw.next_text().await?).unwrap(),
            _ => {
                let f = self.raw.next().await?;
                json!({"type": f.kind, "data": f.data.as_ref().map(to_json)})
            }
        };
        Ok((
            frame["type"].as_str().unwrap().to_string(),
            frame["data"].clone(),
        ))
    }

    pub async fn recv(&mut self) -> (String, Json) {
        self.next().await.expect("a frame")
    }

    /// Sends `ping` and reads up to its `pong`; returns what came before it.
    pub async fn until_pong(&mut self) -> Vec<(String, Json)> {
        self.ping().await;
        let mut before = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame.0 == "pong" {
                return before;
            }
            before.push(frame);
        }
    }
}

pub fn to_msgpack(v: &Json) -> rmpv::Value {
    match v {
        Json::Null => rmpv::Value::Nil,
        Json::Bool(b) => rmpv::Value::from(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => rmpv::Value::from(i),
            None => rmpv::Value::from(n.as_f64().unwrap()),
        },
        Json::String(s) => rmpv::Value::from(s.as_str()),
        Json::Array(items) => rmpv::Value::Array(items.iter().map(to_msgpack).collect()),
        Json::Object(entries) => rmpv::Value::Map(
            entries
                .iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
    }
}

pub fn to_json(v: &rmpv::Value) -> Json {
    match v {
        rmpv::Value::Nil => Json::Null,
        rmpv::Value::Boolean(b) => Json::from(*b),
        rmpv::Value::Integer(i) => Json::from(i.as_i64().unwrap()),
        rmpv::Value::F64(f) => Json::from(*f),
        rmpv::Value::String(s) => Json::from(s.as_str().unwrap()),
        rmpv::Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        rmpv::Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), to_json(v)))
                .collect(),
        ),
        other => panic!("no JSON for {other:?}"),
    }
}

/// The value an `msm`'s data carries.
pub fn value_of(data: &Json) -> i64 {
    data["o"]["data"].as_i64().expect("an int value")
}
