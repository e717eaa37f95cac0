pub struct Point {
    pub x: i64,
}

#[streampod::endpoint]
pub trait Plot {
    async fn plot(&self, at: Point) -> Result<(), streampod::StreamError>;
}

fn main() {}
