namespace ControlPlane.Server.Options;

/// <summary>
/// OpenTelemetry traces of HTTP requests, grain calls and PostgreSQL commands (configuration section <c>Tracing</c>).
/// Off unless an OTLP endpoint is configured here or in the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable.
/// </summary>
public sealed class TracingOptions
{
    public const string SectionName = "Tracing";

    /// <summary>The standard variables the OTLP exporter reads by itself when <see cref="OtlpEndpoint"/> is not set.</summary>
    public static readonly string[] StandardEndpointVariables = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

    public const string Grpc = "grpc";
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>
    /// The collector's OTLP endpoint, e.g. <c>http://otel-collector:4317</c> (gRPC) or <c>http://otel-collector:4318</c>
    /// (HTTP, where <c>/v1/traces</c> is added to a URL without a path). Empty: the standard variables decide.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>; used with <see cref="OtlpEndpoint"/>.</summary>
    /// <value><c>grpc</c>.</value>
    public string OtlpProtocol { get; set; } = Grpc;

    /// <summary>The share of traces started here that are recorded, 0 to 1; a request that arrives sampled is always recorded.</summary>
    /// <value>1.</value>
    public double SampleRatio { get; set; } = 1.0;

    /// <summary>The <c>service.name</c> of the spans.</summary>
    /// <value><c>controlplane</c>.</value>
    public string ServiceName { get; set; } = "controlplane";

    /// <summary>Traces are exported when an endpoint is configured, here or in a standard variable.</summary>
    public bool IsEnabled(IConfiguration configuration) => Destination(configuration) is not null;

    /// <summary>Where traces go: <see cref="OtlpEndpoint"/>, else the standard variable; null when tracing is off.</summary>
    public string? Destination(IConfiguration configuration) =>
        string.IsNullOrWhiteSpace(OtlpEndpoint) ? StandardEndpoint(configuration) : OtlpEndpoint;

    public static string? StandardEndpoint(IConfiguration configuration) =>
        StandardEndpointVariables.Select(v => configuration[v]).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    /// <summary>The URL spans are sent to when <see cref="OtlpEndpoint"/> is set: OTLP/HTTP posts to <c>/v1/traces</c>.</summary>
    public Uri ExportUri()
    {
        var uri = new Uri(OtlpEndpoint!, UriKind.Absolute);
        return IsHttp && uri.AbsolutePath is "/" or "" ? new Uri(uri, "v1/traces") : uri;
    }

    public bool IsHttp => string.Equals(OtlpProtocol, HttpProtobuf, StringComparison.OrdinalIgnoreCase);
}
