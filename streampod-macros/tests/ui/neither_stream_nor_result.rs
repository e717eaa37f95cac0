#[streampod::endpoint]
pub trait Counter {
    fn count(&self, to: i64) -> Vec<i64>;
}

fn main() {}
