// A value type that is not a streampod `Wire` type: the message names `model!`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Bid {
    pub amount: i64,
}

fn send<T: streampod::Wire>(_: T) {}

fn main() {
    send(Bid { amount: 5 });
}
