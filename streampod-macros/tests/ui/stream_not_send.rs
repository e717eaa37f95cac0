use futures::Stream;

#[streampod::endpoint]
pub trait Ticker {
    fn ticks(&self) -> impl Stream<Item = Result<i64, streampod::StreamError>> + 'static;
}

fn main() {}
