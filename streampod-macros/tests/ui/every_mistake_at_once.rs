// Every mistake of a trait is reported at once, not the first alone.
#[streampod::endpoint]
pub trait Mistakes {
    const LIMIT: usize;

    fn default_body(
        &self,
    ) -> impl futures::Stream<Item = Result<i64, streampod::StreamError>> + Send + 'static {
        futures::stream::empty()
    }

    async fn inputs(
        &self,
        a_b: streampod::InputStream<i64>,
        #[streampod(name = "aB")] other: streampod::InputStream<i64>,
    ) -> Result<i64, streampod::StreamError>;

    async fn same_name(&self) -> Result<(), streampod::StreamError>;
    #[streampod(name = "sameName")]
    async fn same_name_again(&self) -> Result<(), streampod::StreamError>;
}

fn main() {}
