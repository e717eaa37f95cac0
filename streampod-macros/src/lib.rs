//! `#[streampod::endpoint]`: one Rust trait declares an endpoint, for the server (the trait
//! and `into_endpoint`) and for the client (a `<Trait>Client` with one method per method).
//! Use it through the `streampod` crate, which documents it; this crate holds only the
//! macro.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Error, FnArg, GenericArgument, Ident, ItemTrait, LitStr, Pat, PathArguments,
    ReturnType, Token, TraitItem, TraitItemFn, Type, TypeParamBound,
};

/// Declares an endpoint as a trait; see `streampod::endpoint`.
#[proc_macro_attribute]
pub fn endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = syn::parse_macro_input!(attr as EndpointOptions);
    let item = syn::parse_macro_input!(item as ItemTrait);
    match expand(options, item) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// `name = "..", require_login, require_scopes = [..]`, in any order.
#[derive(Default)]
struct Access {
    login: bool,
    scopes: Vec<LitStr>,
    public: bool,
}

struct EndpointOptions {
    name: Option<LitStr>,
    access: Access,
}

impl Parse for EndpointOptions {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = EndpointOptions {
            name: None,
            access: Access::default(),
        };
        for option in Punctuated::<Opt, Token![,]>::parse_terminated(input)? {
            match option {
                Opt::Name(name) => options.name = Some(name),
                Opt::Access(apply) => apply(&mut options.access),
            }
        }
        Ok(options)
    }
}

/// One option of `#[streampod::endpoint(..)]` or `#[streampod(..)]`.
enum Opt {
    Name(LitStr),
    Access(Box<dyn FnOnce(&mut Access)>),
}

impl Parse for Opt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        match key.to_string().as_str() {
            "name" => {
                input.parse::<Token![=]>()?;
                Ok(Opt::Name(input.parse()?))
            }
            "require_login" => Ok(Opt::Access(Box::new(|a| a.login = true))),
            "public" => Ok(Opt::Access(Box::new(|a| a.public = true))),
            "require_scopes" => {
                input.parse::<Token![=]>()?;
                let content;
                syn::bracketed!(content in input);
                let scopes: Vec<LitStr> =
                    Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?
                        .into_iter()
                        .collect();
                Ok(Opt::Access(Box::new(move |a| a.scopes.extend(scopes))))
            }
            other => Err(Error::new(
                key.span(),
                format!(
                    "unknown option `{other}`: expected `name = \"..\"`, `require_login`, \
                     `require_scopes = [..]` or (on a method) `public`"
                ),
            )),
        }
    }
}

/// A parameter of a method, as the macro sorts it. (Built once per parameter: the sizes
/// of its variants do not matter.)
#[allow(clippy::large_enum_variant)]
enum Param {
    Session,
    /// A plain serde parameter: a key of `args`.
    Arg {
        ident: Ident,
        ty: Type,
        wire: String,
    },
    /// `InputStream<T>` (`optional`: `Option<InputStream<T>>`).
    Input {
        ident: Ident,
        ty: Type,
        item: Type,
        optional: bool,
        wire: String,
    },
}

/// What a method returns.
enum Returns {
    /// `impl Stream<Item = Result<T, StreamError>> + Send + 'static`.
    Stream(Type),
    /// `async fn .. -> Result<T, StreamError>`.
    Future(Type),
}

struct Method {
    ident: Ident,
    wire: String,
    docs: Vec<Attribute>,
    params: Vec<Param>,
    returns: Returns,
    access: Access,
}

/// Every mistake found so far: the macro reports them all at once, not the first alone.
#[derive(Default)]
struct Errors(Option<Error>);

impl Errors {
    fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `result`'s value, its error kept for the report.
    fn keep<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn expand(options: EndpointOptions, mut item: ItemTrait) -> syn::Result<Tokens> {
    let mut errors = Errors::default();
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.push(Error::new(
            item.generics.span(),
            "an endpoint trait cannot be generic: its methods are served and called by name",
        ));
    }
    let trait_ident = item.ident.clone();
    let endpoint_name = options
        .name
        .map(|n| n.value())
        .unwrap_or_else(|| camel(&trait_ident.to_string()));
    let mut methods = Vec::new();
    for trait_item in &mut item.items {
        let TraitItem::Fn(f) = trait_item else {
            errors.push(Error::new(
                trait_item.span(),
                "an endpoint trait holds only methods",
            ));
            continue;
        };
        methods.extend(errors.keep(method(f)));
    }
    let mut seen = std::collections::HashMap::new();
    for m in &methods {
        if let Some(first) = seen.insert(m.wire.clone(), m.ident.clone()) {
            errors.push(Error::new(
                m.ident.span(),
                format!(
                    "`{}` and `{first}` are both `{}` on the wire: rename one with \
                     #[streampod(name = \"..\")]",
                    m.ident, m.wire
                ),
            ));
        }
    }
    errors.finish()?;
    let args_structs = methods.iter().map(|m| args_struct(&trait_ident, m));
    let server = server(&item, &endpoint_name, &options.access, &methods);
    let client = client(&item, &endpoint_name, &methods);
    let definition = definition(&item, &endpoint_name, &methods);
    Ok(quote! {
        #(#args_structs)*
        ::streampod::__server_only! { #server }
        ::streampod::__client_only! { #client }
        ::streampod::__typescript_only! { #definition }
    })
}

/// Reads one method and rewrites it for the trait: `async fn` becomes a function returning
/// a `Send` future, and the macro's own attributes go.
fn method(f: &mut TraitItemFn) -> syn::Result<Method> {
    let mut errors = Errors::default();
    let mut wire = camel(&f.sig.ident.to_string());
    let mut access = Access::default();
    errors.keep(take_options(&mut f.attrs, &mut wire, &mut access));
    let docs = f
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect();
    if f.default.is_some() {
        errors.push(Error::new(
            f.sig.ident.span(),
            "an endpoint method has no default body: the implementation provides it",
        ));
    }
    match f.sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        _ => {
            errors.push(Error::new(
                f.sig.span(),
                "an endpoint method takes `&self` first (one implementation serves every call)",
            ));
            // Nothing else can be read of a method without its receiver.
            return Err(errors
                .0
                .unwrap_or_else(|| Error::new(f.sig.span(), "no receiver")));
        }
    }
    let mut params = Vec::new();
    for (position, input) in f.sig.inputs.iter_mut().skip(1).enumerate() {
        let FnArg::Typed(pt) = input else {
            unreachable!("only the first input is a receiver")
        };
        let Pat::Ident(pat) = &*pt.pat else {
            errors.push(Error::new(
                pt.pat.span(),
                "name the parameter with a plain identifier: it is its name on the wire",
            ));
            continue;
        };
        let ident = pat.ident.clone();
        let mut param_wire = camel(&ident.to_string());
        let mut unused = Access::default();
        errors.keep(take_options(&mut pt.attrs, &mut param_wire, &mut unused));
        let ty = (*pt.ty).clone();
        params.push(if last_ident(&ty).as_deref() == Some("Session") {
            if position != 0 {
                errors.push(Error::new(
                    ty.span(),
                    "`Session` comes first, after `&self`",
                ));
            }
            Param::Session
        } else if let Some((item, optional)) = input_stream(&ty) {
            Param::Input {
                ident,
                ty,
                item,
                optional,
                wire: param_wire,
            }
        } else {
            Param::Arg {
                ident,
                ty,
                wire: param_wire,
            }
        });
    }
    check_unique(&params, &mut errors);
    let returns = if f.sig.asyncness.is_some() {
        let ReturnType::Type(_, ty) = &f.sig.output else {
            errors.push(Error::new(
                f.sig.span(),
                "an `async` endpoint method returns `Result<T, StreamError>` (`T` = `()` for none)",
            ));
            return Err(errors
                .0
                .unwrap_or_else(|| Error::new(f.sig.span(), "no output")));
        };
        let Some(value) = result_ok(ty) else {
            errors.push(Error::new(
                ty.span(),
                "an `async` endpoint method returns `Result<T, StreamError>` (`T` = `()` for none)",
            ));
            return Err(errors
                .0
                .unwrap_or_else(|| Error::new(ty.span(), "no result")));
        };
        // The server runs the future on any thread: it must be `Send`.
        let output = ty.clone();
        f.sig.asyncness = None;
        f.sig.output = syn::parse_quote_spanned! {ty.span()=>
            -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
        };
        Returns::Future(value)
    } else {
        match stream_item(&f.sig.output) {
            Ok(item) => Returns::Stream(item),
            Err(e) => {
                errors.push(e);
                return Err(errors
                    .0
                    .unwrap_or_else(|| Error::new(f.sig.span(), "no stream")));
            }
        }
    };
    errors.finish()?;
    Ok(Method {
        ident: f.sig.ident.clone(),
        wire,
        docs,
        params,
        returns,
        access,
    })
}

/// Removes `#[streampod(..)]` from `attrs`, applying its options.
fn take_options(
    attrs: &mut Vec<Attribute>,
    wire: &mut String,
    access: &mut Access,
) -> syn::Result<()> {
    let mut result = Ok(());
    attrs.retain(|attr| {
        if !attr.path().is_ident("streampod") {
            return true;
        }
        let parsed = attr.parse_args_with(Punctuated::<Opt, Token![,]>::parse_terminated);
        match parsed {
            Ok(options) => {
                for option in options {
                    match option {
                        Opt::Name(name) => *wire = name.value(),
                        Opt::Access(apply) => apply(access),
                    }
                }
            }
            Err(e) => result = Err(e),
        }
        false
    });
    result
}

fn check_unique(params: &[Param], errors: &mut Errors) {
    let mut args = std::collections::HashMap::new();
    let mut inputs = std::collections::HashMap::new();
    for p in params {
        let (seen, ident, wire, what) = match p {
            Param::Arg { ident, wire, .. } => (&mut args, ident, wire, "arguments"),
            Param::Input { ident, wire, .. } => (&mut inputs, ident, wire, "input streams"),
            Param::Session => continue,
        };
        if let Some(first) = seen.insert(wire.clone(), ident.clone()) {
            errors.push(Error::new(
                ident.span(),
                format!(
                    "two {what} are `{wire}` on the wire (`{first}` and `{ident}`): rename one \
                     with #[streampod(name = \"..\")]"
                ),
            ));
        }
    }
}

/// `snake_case` (or `CamelCase`) as Serverpod's `lowerCamelCase`.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for (i, c) in name.chars().enumerate() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else if i == 0 || out.is_empty() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn last_ident(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The single type argument of the last segment of `ty`, if it is `name<..>`.
fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let segment = p.path.segments.last()?;
    if segment.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// `InputStream<T>` → `(T, false)`, `Option<InputStream<T>>` → `(T, true)`.
fn input_stream(ty: &Type) -> Option<(Type, bool)> {
    if let Some(item) = generic_arg(ty, "InputStream") {
        return Some((item.clone(), false));
    }
    let inner = generic_arg(ty, "Option")?;
    generic_arg(inner, "InputStream").map(|item| (item.clone(), true))
}

/// `T` of `Result<T, ..>`.
fn result_ok(ty: &Type) -> Option<Type> {
    generic_arg(ty, "Result").cloned()
}

/// `T` of `impl Stream<Item = Result<T, StreamError>> + Send + 'static`.
fn stream_item(output: &ReturnType) -> syn::Result<Type> {
    let wrong = |span: Span| {
        Error::new(
            span,
            "an endpoint method returns `impl Stream<Item = Result<T, StreamError>> + Send + \
             'static`, or is `async` and returns `Result<T, StreamError>`",
        )
    };
    let ReturnType::Type(_, ty) = output else {
        return Err(wrong(output.span()));
    };
    let Type::ImplTrait(bounds) = &**ty else {
        return Err(wrong(ty.span()));
    };
    let mut item = None;
    let mut send = false;
    for bound in &bounds.bounds {
        let TypeParamBound::Trait(t) = bound else {
            continue;
        };
        let Some(last) = t.path.segments.last() else {
            continue;
        };
        if last.ident == "Send" {
            send = true;
        }
        if last.ident == "Stream" {
            if let PathArguments::AngleBracketed(args) = &last.arguments {
                for arg in &args.args {
                    if let GenericArgument::AssocType(assoc) = arg {
                        if assoc.ident == "Item" {
                            item = result_ok(&assoc.ty);
                        }
                    }
                }
            }
        }
    }
    let Some(item) = item else {
        return Err(wrong(ty.span()));
    };
    if !send {
        return Err(Error::new(
            ty.span(),
            "the returned stream must be `Send` (the server polls it on any worker): add `+ Send`",
        ));
    }
    Ok(item)
}

fn args_ident(trait_ident: &Ident, m: &Method) -> Ident {
    format_ident!("__{}{}Args", trait_ident, camel_upper(&m.ident.to_string()))
}

fn camel_upper(name: &str) -> String {
    let lower = camel(name);
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => lower,
    }
}

/// The `args` map of a method, both ways.
fn args_struct(trait_ident: &Ident, m: &Method) -> Tokens {
    let ident = args_ident(trait_ident, m);
    let fields = m.params.iter().filter_map(|p| match p {
        Param::Arg { ident, ty, wire } => Some(quote_spanned! {ty.span()=>
            #[serde(rename = #wire)]
            pub #ident: #ty,
        }),
        _ => None,
    });
    let checks = m.params.iter().filter_map(|p| match p {
        Param::Arg { ty, .. } => Some(quote_spanned! {ty.span()=>
            const _: () = ::streampod::__private::argument::<#ty>();
        }),
        _ => None,
    });
    quote! {
        #(#checks)*
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[derive(::streampod::__private::serde::Serialize, ::streampod::__private::serde::Deserialize)]
        #[serde(crate = "::streampod::__private::serde")]
        pub struct #ident { #(#fields)* }
    }
}

/// The builder calls of the endpoint's access.
fn endpoint_access(access: &Access) -> Tokens {
    let mut calls = Tokens::new();
    if access.login {
        calls.extend(quote!(.require_login()));
    }
    if !access.scopes.is_empty() {
        let scopes = &access.scopes;
        calls.extend(quote!(.require_scopes([#(#scopes),*])));
    }
    calls
}

/// The builder call of a method's own access, if it has one.
fn method_access(wire: &str, access: &Access) -> Tokens {
    let scopes = &access.scopes;
    if !scopes.is_empty() {
        quote!(.access(#wire, ::streampod::Access::scopes([#(#scopes),*])))
    } else if access.login {
        quote!(.access(#wire, ::streampod::Access::Login))
    } else if access.public {
        quote!(.access(#wire, ::streampod::Access::Public))
    } else {
        quote!()
    }
}

/// The trait, with `into_endpoint`, for builds with the server.
fn server(item: &ItemTrait, endpoint: &str, access: &Access, methods: &[Method]) -> Tokens {
    let trait_ident = &item.ident;
    let mut item = item.clone();
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Send));
    item.supertraits
        .push(syn::parse_quote!(::core::marker::Sync));
    item.supertraits.push(syn::parse_quote!('static));
    let endpoint_access = endpoint_access(access);
    let registrations = methods.iter().map(|m| {
        let wire = &m.wire;
        let ident = &m.ident;
        let args = args_ident(trait_ident, m);
        let names = m.params.iter().filter_map(|p| match p {
            Param::Input { wire, .. } => Some(wire),
            _ => None,
        });
        let input_idents: Vec<&Ident> = m
            .params
            .iter()
            .filter_map(|p| match p {
                Param::Input { ident, .. } => Some(ident),
                _ => None,
            })
            .collect();
        let input_types = m.params.iter().filter_map(|p| match p {
            Param::Input { ty, .. } => Some(ty),
            _ => None,
        });
        let call_args = m.params.iter().map(|p| match p {
            Param::Session => quote!(session),
            Param::Arg { ident, .. } => quote!(args.#ident),
            Param::Input { ident, .. } => quote!(#ident),
        });
        let unused_session = if m.params.iter().any(|p| matches!(p, Param::Session)) {
            quote!()
        } else {
            quote!(let _ = session;)
        };
        let method_access = method_access(wire, &m.access);
        let handler_args = quote! {
            session: ::streampod::Session,
            args: #args,
            (#(#input_idents,)*): (#(#input_types,)*)
        };
        match &m.returns {
            // Boxed as `'static` here, where the trait's bound proves it: returned as it is,
            // the stream's type would still name the borrow of `this` it was made from.
            Returns::Stream(t) => quote! {
                let endpoint = {
                    let this = this.clone();
                    endpoint.stream(#wire, [#(#names),*], move |#handler_args| {
                        #unused_session
                        #[allow(unused_variables)]
                        let args = args;
                        let stream: ::streampod::__private::BoxStream<
                            'static,
                            ::core::result::Result<#t, ::streampod::StreamError>,
                        > = ::std::boxed::Box::pin(this.#ident(#(#call_args),*));
                        stream
                    })
                } #method_access;
            },
            Returns::Future(_) => quote! {
                let endpoint = {
                    let this = this.clone();
                    endpoint.future(#wire, [#(#names),*], move |#handler_args| {
                        #unused_session
                        #[allow(unused_variables)]
                        let args = args;
                        let this = this.clone();
                        async move { this.#ident(#(#call_args),*).await }
                    })
                } #method_access;
            },
        }
    });
    let into_endpoint: TraitItem = syn::parse_quote! {
        /// This implementation, served as an endpoint (register it with
        /// `ServerBuilder::endpoint`).
        fn into_endpoint(self) -> ::streampod::Endpoint
        where
            Self: Sized,
        {
            let this = ::std::sync::Arc::new(self);
            let endpoint = ::streampod::Endpoint::new(#endpoint) #endpoint_access;
            #(#registrations)*
            endpoint
        }
    };
    item.items.push(into_endpoint);
    item.into_token_stream()
}

/// `<Trait>Definition`, for builds with the `typescript` feature: what the trait declares,
/// for `streampod::typescript` to generate a TypeScript client from.
fn definition(item: &ItemTrait, endpoint: &str, methods: &[Method]) -> Tokens {
    let vis = &item.vis;
    let trait_ident = &item.ident;
    let rust_name = trait_ident.to_string();
    let ident = format_ident!("{}Definition", trait_ident);
    let doc = format!(
        "The `{endpoint}` endpoint's definition, generated from the `{trait_ident}` trait by \
         `#[streampod::endpoint]`: for `streampod::typescript::Module::endpoint`."
    );
    let methods = methods.iter().map(|m| {
        let wire = &m.wire;
        let docs = m.docs.iter().filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        });
        let args = args_ident(trait_ident, m);
        let start = match &m.returns {
            Returns::Stream(t) => quote!(::streampod::typescript::Method::stream::<#t>(#wire)),
            Returns::Future(t) => quote!(::streampod::typescript::Method::future::<#t>(#wire)),
        };
        let params = m.params.iter().filter_map(|p| match p {
            Param::Session => None,
            Param::Arg { wire, .. } => Some(quote!(.arg(#wire))),
            Param::Input {
                item,
                optional,
                wire,
                ..
            } => Some(quote!(.input::<#item>(#wire, #optional))),
        });
        quote! {
            .method(#start.docs(&[#(#docs),*]).args::<#args>()#(#params)*)
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;

        impl ::streampod::typescript::Definition for #ident {
            fn endpoint() -> ::streampod::typescript::Endpoint {
                ::streampod::typescript::Endpoint::new(#endpoint, #rust_name)
                    #(#methods)*
            }
        }
    }
}

/// `<Trait>Client`, for builds with the client.
fn client(item: &ItemTrait, endpoint: &str, methods: &[Method]) -> Tokens {
    let vis = &item.vis;
    let trait_ident = &item.ident;
    let client_ident = format_ident!("{}Client", trait_ident);
    let doc = format!(
        "The client of the `{endpoint}` endpoint, generated from the `{trait_ident}` trait by \
         `#[streampod::endpoint]`: one method per method, with its documentation."
    );
    let fns = methods.iter().map(|m| {
        let ident = &m.ident;
        let wire = &m.wire;
        let docs = &m.docs;
        let args = args_ident(trait_ident, m);
        let mut params = Vec::new();
        let mut fields = Vec::new();
        let mut inputs = Vec::new();
        for p in &m.params {
            match p {
                Param::Session => {}
                Param::Arg { ident, ty, .. } => {
                    params.push(quote!(#ident: #ty));
                    fields.push(quote!(#ident));
                }
                Param::Input {
                    ident,
                    item,
                    optional,
                    wire,
                    ..
                } => {
                    let stream = quote! {
                        impl ::streampod::__private::Stream<Item = #item> + ::core::marker::Send + 'static
                    };
                    if *optional {
                        params.push(quote!(#ident: ::core::option::Option<#stream>));
                        inputs.push(quote! {
                            if let ::core::option::Option::Some(s) = #ident {
                                inputs = inputs.values(#wire, s);
                            }
                        });
                    } else {
                        params.push(quote!(#ident: #stream));
                        inputs.push(quote!(inputs = inputs.values(#wire, #ident);));
                    }
                }
            }
        }
        let body = quote! {
            #[allow(unused_mut)]
            let mut inputs = ::streampod::client::Inputs::new();
            #(#inputs)*
            let args = #args { #(#fields),* };
        };
        match &m.returns {
            Returns::Stream(t) => quote! {
                #(#docs)*
                pub fn #ident(&self, #(#params),*) -> ::streampod::client::CallStream<#t> {
                    #body
                    self.client.stream::<#t>(#endpoint, #wire, args, inputs)
                }
            },
            Returns::Future(t) => quote! {
                #(#docs)*
                pub async fn #ident(&self, #(#params),*)
                    -> ::core::result::Result<#t, ::streampod::client::Error>
                {
                    #body
                    self.client.call::<#t>(#endpoint, #wire, args, inputs).await
                }
            },
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #client_ident {
            client: ::streampod::client::Client,
        }

        impl #client_ident {
            /// Calls the endpoint through `client` (and its socket).
            pub fn new(client: &::streampod::client::Client) -> Self {
                #client_ident { client: client.clone() }
            }

            #(#fns)*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{camel, camel_upper};

    /// Wire names are Serverpod's lowerCamelCase of the Rust names.
    #[test]
    fn snake_case_becomes_serverpods_lower_camel_case() {
        for (rust, wire) in [
            ("int_echo_stream", "intEchoStream"),
            ("interval_ms", "intervalMs"),
            ("stream", "stream"),
            ("value_2", "value2"),
            ("a_b_c", "aBC"),
            // Leading and doubled underscores make no empty words.
            ("_private", "private"),
            ("two__words", "twoWords"),
            // A trait's name: only the first letter goes down.
            ("Chat", "chat"),
            ("ChatRoom", "chatRoom"),
            ("MethodStreaming", "methodStreaming"),
            // Already lowerCamelCase: unchanged.
            ("intEchoStream", "intEchoStream"),
        ] {
            assert_eq!(camel(rust), wire, "{rust}");
        }
        assert_eq!(camel_upper("int_echo_stream"), "IntEchoStream");
    }
}
