using System.Collections.Frozen;

namespace ControlPlane.Server.Ui;

/// <summary>
/// The operator console (<c>/console</c>) and the customer portal (<c>/portal</c>): static pages built into the server
/// as embedded resources, served without sign-in. They hold no data of their own: the browser keeps the token the user
/// pastes (in sessionStorage) and calls the admin and customer APIs with it, like any other client.
/// </summary>
public static class WebUi
{
    private const string ResourcePrefix = "ui/";

    private static readonly FrozenDictionary<string, (byte[] Body, string ContentType)> Assets = Load();

    public static IEndpointRouteBuilder MapWebUi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/console", (HttpContext context) => Serve(context, "console.html"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/portal", (HttpContext context) => Serve(context, "portal.html"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/ui/{file}", (string file, HttpContext context) => Serve(context, file))
            .AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext context, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
        {
            return TypedResults.NotFound();
        }

        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        // Only this server's own scripts and API: a token pasted here can go nowhere else.
        headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        headers["Referrer-Policy"] = "no-referrer";
        return TypedResults.Bytes(asset.Body, asset.ContentType);
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(WebUi).Assembly;
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name[ResourcePrefix.Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            assets[file] = (copy.ToArray(), type);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
