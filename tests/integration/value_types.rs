//! Every built-in class and typed container survives a round trip through a dynamic echo,
//! nulls included (docs/PROTOCOL.md §3.1; Serverpod's basic_types_streaming_test and out_stream_test).

use crate::support::method_streaming::SimpleData;
use crate::support::*;
use futures::{stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use streampod::client::{Client, Inputs};
use streampod::{BigInt, ByteData, DateTime, Dynamic, NoArgs, Wire};

async fn echo(
    server: &TestServer,
    wire: streampod::Encoding,
    values: Vec<Dynamic>,
) -> Vec<Dynamic> {
    // Models on dynamic streams: the client must know their class, as the server does.
    let c = Client::builder(&server.http_url())
        .config(streampod::client::ClientConfig::default().encoding(wire))
        .model::<SimpleData>()
        .build()
        .unwrap();
    let inputs = Inputs::new().values("stream", stream::iter(values));
    c.stream::<Dynamic>(ENDPOINT, "dynamicEchoStream", NoArgs {}, inputs)
        .map(|r| r.expect("echoed value"))
        .collect()
        .await
}

fn d<T: Wire>(v: T) -> Dynamic {
    Dynamic::new(&v).unwrap()
}

fn back<T: Wire + PartialEq + std::fmt::Debug>(got: &Dynamic, want: T) {
    assert_eq!(got.class_name(), want.class_name(), "class of {want:?}");
    assert_eq!(got.decode::<T>().unwrap(), want);
}

wire_test!(async fn basic_types_and_nulls_round_trip(wire) {
    let server = TestServer::start();
    let uuid = uuid::Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
    let date = DateTime::from_utc(1976, 9, 10, 2, 10, 0);
    let values = vec![
        d(0i64),
        d(None::<i64>),
        d(1.2f64),
        d(true),
        d(false),
        d("first".to_string()),
        d("null".to_string()),
        d(date),
        d(ByteData(vec![0, 1, 2, 255])),
        d(Duration::from_secs(1)),
        d(uuid),
        d(BigInt::parse("-12345678901234567890").unwrap()),
        d(BigInt::parse("12345678901234567890").unwrap()),
    ];
    let got = echo(&server, wire, values.clone()).await;
    assert_eq!(got, values);
    back(&got[0], 0i64);
    assert_eq!(got[1].class_name(), "null");
    back(&got[2], 1.2f64);
    back(&got[5], "first".to_string());
    back(&got[6], "null".to_string());
    back(&got[7], date);
    assert_eq!(got[7].data()[1..], *b"1976-09-10T02:10:00.000Z");
    back(&got[8], ByteData(vec![0, 1, 2, 255]));
    back(&got[9], Duration::from_secs(1));
    back(&got[10], uuid);
    back(&got[11], BigInt::parse("-12345678901234567890").unwrap());
});

wire_test!(async fn typed_containers_round_trip(wire) {
    let server = TestServer::start();
    let lists = vec![vec![1i64, 2, 3], vec![4, 5, 6]];
    let set: HashSet<i64> = [1, 2, 3].into_iter().collect();
    let nullable_models = vec![Some(SimpleData { num: 1 }), None];
    let optional_list: Option<Vec<SimpleData>> = Some(vec![SimpleData { num: 2 }]);
    let map: HashMap<String, i64> = [("a".to_string(), 1)].into_iter().collect();
    let nested: Vec<HashSet<i64>> = vec![set.clone()];
    let values = vec![
        d(lists.clone()),
        d(set.clone()),
        d(nullable_models.clone()),
        d(optional_list.clone()),
        d(None::<Vec<SimpleData>>),
        d(map.clone()),
        d(nested.clone()),
    ];
    let got = echo(&server, wire, values).await;
    assert_eq!(got[0].class_name(), "List<List<int>>");
    back(&got[0], lists);
    assert_eq!(got[1].class_name(), "Set<int>");
    back(&got[1], set);
    assert_eq!(got[2].class_name(), "List<SimpleData?>");
    back(&got[2], nullable_models);
    back(&got[3], optional_list);
    assert_eq!(got[4].class_name(), "null");
    assert_eq!(got[5].class_name(), "Map<String,int>");
    back(&got[5], map);
    assert_eq!(got[6].class_name(), "List<Set<int>>");
    back(&got[6], nested);
});

wire_test!(async fn untyped_containers_hold_wrapped_values_of_mixed_types(wire) {
    let server = TestServer::start();
    let list = vec![d(1i64), d("two".to_string()), d(SimpleData { num: 3 })];
    let got = echo(&server, wire, vec![d(list.clone())]).await;
    assert_eq!(got[0].class_name(), "List");
    assert_eq!(got[0].decode::<Vec<Dynamic>>().unwrap(), list);
});
