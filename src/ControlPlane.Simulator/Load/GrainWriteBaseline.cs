using System.Globalization;
using System.Net.Http.Json;

namespace ControlPlane.Simulator.Load;

/// <summary>
/// The other baseline of usage ingestion: plain grain-state writes through the same server to the same
/// database. Each request to <c>POST /diagnostics/v1/state-writes/{key}</c> (mapped with
/// <c>Diagnostics:LoadBaselines=true</c>) makes one grain write its state, a <see cref="UpsertBaseline.PayloadBytes"/>-character
/// string, through Orleans' storage provider: HTTP, one grain call and one state write, nothing else.
/// Each worker cycles over 64 grains of its own, as the UPSERT baseline's connections cycle over their rows.
/// </summary>
internal static class GrainWriteBaseline
{
    private const int GrainsPerWorker = 64;

    public static Task<HttpPhaseResult> RunAsync(HttpClient http, Uri server, string runId, int writes, int concurrency, CancellationToken ct)
    {
        var payload = new string('x', UpsertBaseline.PayloadBytes);
        var counters = new int[concurrency];
        return HttpLoadPhase.RunAsync(
            http,
            concurrency,
            w =>
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"load-{runId}-{w}-{counters[w]++ % GrainsPerWorker}");
                return new HttpRequestMessage(HttpMethod.Post, new Uri(server, $"diagnostics/v1/state-writes/{key}"))
                {
                    Content = JsonContent.Create(new { payload }),
                };
            },
            null,
            writes,
            ct);
    }
}
