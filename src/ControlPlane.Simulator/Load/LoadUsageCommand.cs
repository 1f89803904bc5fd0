using System.Globalization;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Live;
using Npgsql;

namespace ControlPlane.Simulator.Load;

/// <summary>
/// <c>load-usage</c>: benchmark usage ingestion against a running control plane (and, with
/// <c>--postgres</c>, the database's plain single-row write rate to compare it with). Sets a price, opens
/// a contract for each of a run's fresh customers, issues a gateway token, sends the batches and checks
/// that each contract counted exactly what was sent. Exit code 0 when every batch was answered 200 and
/// the totals match, 1 otherwise.
/// </summary>
internal sealed class LoadUsageCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    public const string Model = "load-usage-model";
    public const decimal InputUsdPer1M = 2.5m;
    public const decimal OutputUsdPer1M = 10m;

    /// <summary>The grain-state name of the usage day buckets, as Orleans' storage metrics label it.</summary>
    public const string BucketStateName = "usage-bucket";

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        var load = options.Load ?? throw new ArgumentException("load-usage needs its options", nameof(options));
        var exitCode = 0;
        UpsertBaselineResult? baseline = null;
        try
        {
            // The baseline first, on a quiet database: after the load, PostgreSQL is still busy checkpointing
            // and vacuuming what the load wrote.
            if (load.PostgresConnectionString is { } postgres)
            {
                output.WriteLine(F($"[baseline] {load.BaselineWrites:N0} single-row UPSERTs ({UpsertBaseline.PayloadBytes}-byte payload, one transaction each) from {load.Concurrency} connections"));
                baseline = await UpsertBaseline.RunAsync(postgres, load.BaselineWrites, load.Concurrency, stopping);
                output.WriteLine(F($"[baseline] {baseline.WritesPerSecond:N0} UPSERTs/s ({baseline.Writes:N0} in {baseline.Elapsed.TotalSeconds:0.0} s); latency p50 {Ms(baseline.Latency.P50)}, p99 {Ms(baseline.Latency.P99)}"));
            }

            if (options.Server is { } server)
            {
                using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = load.Concurrency + 2 })
                {
                    Timeout = TimeSpan.FromMinutes(2),
                };
                HttpPhaseResult? grainWrites = null;
                if (load.GrainWrites > 0)
                {
                    output.WriteLine(F($"[baseline] {load.GrainWrites:N0} grain-state writes ({UpsertBaseline.PayloadBytes}-character state) through {server}diagnostics/v1/state-writes, {load.Concurrency} in flight"));
                    grainWrites = await GrainWriteBaseline.RunAsync(http, server, F($"{DateTime.UtcNow:yyyyMMddHHmmss}"), load.GrainWrites, load.Concurrency, stopping);
                    if (grainWrites.Failures > 0)
                    {
                        error.WriteLine(F($"error: {grainWrites.Failures:N0} grain-state writes failed (is the server started with Diagnostics__LoadBaselines=true?); the first: {grainWrites.FirstFailure}"));
                        return 1;
                    }

                    output.WriteLine(F($"[baseline] {grainWrites.RequestsPerSecond:N0} grain-state writes/s ({grainWrites.Requests:N0} in {grainWrites.Elapsed.TotalSeconds:0.0} s); latency p50 {Ms(grainWrites.Latency!.P50)}, p99 {Ms(grainWrites.Latency.P99)}"));
                }

                var client = new UsageLoadClient(http, new AdminClient(http, server, options.Token!));
                if (load.ViewContract is { } viewContract)
                {
                    await TimeViewsAsync(client, viewContract, load.Views, stopping);
                    return 0;
                }

                var (result, ok) = await RunLoadAsync(client, load, stopping);
                exitCode = ok ? 0 : 1;
                if (baseline is not null && result.Accepted > 0)
                {
                    output.WriteLine(F($"[result] {result.EventsPerSecond:N0} durable events/s = {result.EventsPerSecond / baseline.WritesPerSecond:N1} x the {baseline.WritesPerSecond:N0} plain single-row UPSERTs/s the database took"));
                }

                if (result.Tenths.Count == 10)
                {
                    output.WriteLine(F($"[result] first tenth {result.Tenths[0]:N0} events/s, last tenth {result.Tenths[^1]:N0} events/s: the last at {result.Tenths[^1] / result.Tenths[0]:0.00} x the first"));
                }

                if (grainWrites is not null && result.Accepted > 0)
                {
                    output.WriteLine(F($"[result] {result.EventsPerSecond:N0} durable events/s = {result.EventsPerSecond / grainWrites.RequestsPerSecond:N1} x the {grainWrites.RequestsPerSecond:N0} plain grain-state writes/s through the same server"));
                }
            }
        }
        catch (AdminApiException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (NpgsqlException e)
        {
            error.WriteLine($"error: the baseline failed: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            output.WriteLine("[load] stopped");
            return 0;
        }

        return exitCode;
    }

    private async Task<(UsageLoadResult Result, bool Ok)> RunLoadAsync(UsageLoadClient client, LoadUsageOptions load, CancellationToken ct)
    {
        // Fresh customers every run: one contract per customer at a time, and each run's totals are its own.
        var runId = F($"{DateTime.UtcNow:yyyyMMddHHmmss}{Random.Shared.Next(0x10000):x4}");
        var startedAt = DateTimeOffset.UtcNow;
        var yesterday = DateOnly.FromDateTime(startedAt.UtcDateTime).AddDays(-1);
        var termStart = load.HistoryDays > 0
            ? DateOnly.FromDateTime(startedAt.UtcDateTime).AddDays(-load.HistoryDays)
            : new DateOnly(yesterday.Year, yesterday.Month, 1);
        var customers = Enumerable.Range(0, load.Customers).Select(i => $"load-{runId}-customer-{i}").ToArray();
        var contracts = Enumerable.Range(0, load.Customers).Select(i => $"load-{runId}-contract-{i}").ToArray();

        output.WriteLine(F($"[load] run {runId} against {client.Server}: {load.Customers} customers, each with a contract from {termStart:yyyy-MM-dd}; model {Model} at {InputUsdPer1M}/{OutputUsdPer1M} USD per 1M tokens"));
        await client.SetPriceAsync(Model, InputUsdPer1M, OutputUsdPer1M, ct);
        for (var i = 0; i < customers.Length; i++)
        {
            await client.CreateContractAsync(contracts[i], customers[i], termStart, ct);
        }

        var gatewayToken = await client.IssueGatewayTokenAsync(ct);
        var batches = new UsageBatches(runId, load.BatchSize, customers, Model, startedAt);
        if (load.HistoryDays > 0)
        {
            output.WriteLine(F($"[load] history: one batch of {batches.HistoryBatchSize} events for each of the {load.HistoryDays} days before today"));
            for (var day = 1; day <= load.HistoryDays; day++)
            {
                var (status, text) = await client.SendBatchAsync(batches.HistoryBody(day), gatewayToken, ct);
                if (status != System.Net.HttpStatusCode.OK)
                {
                    throw new AdminApiException(F($"the history batch of {day} days ago was answered {(int)status}: {text}"));
                }
            }
        }

        output.WriteLine(F($"[load] sending {load.Batches:N0} batches of {load.BatchSize:N0} new events ({(long)load.Batches * load.BatchSize:N0} events), {load.Concurrency} in flight"));

        var before = await client.StateWritesAsync(BucketStateName, ct);
        var result = await UsageLoadRun.RunAsync(client, gatewayToken, batches, load.Batches, load.Concurrency, output, ct);

        output.WriteLine(F($"[load] {result.Accepted:N0} events durable in {result.Elapsed.TotalSeconds:0.0} s: {result.EventsPerSecond:N0} events/s, {result.BatchesPerSecond:N1} batches/s"));
        if (result.Latency is { } latency)
        {
            output.WriteLine(F($"[load] batch latency (request sent to answer read): p50 {Ms(latency.P50)}, p99 {Ms(latency.P99)}, max {Ms(latency.Max)}, mean {Ms(latency.Mean)} over {latency.Count:N0} batches"));
        }

        var ok = true;
        if (result.Failed > 0)
        {
            ok = false;
            error.WriteLine(F($"error: {result.Failed:N0} batches were not answered 200; the first: {string.Join("; ", result.Failures)}"));
        }

        if (result.Duplicates > 0)
        {
            ok = false;
            error.WriteLine(F($"error: {result.Duplicates:N0} new events were reported as duplicates"));
        }

        var expected = batches.Totals(result.Answered, load.HistoryDays);
        var wrong = new List<string>();
        for (var i = 0; i < customers.Length; i++)
        {
            var counted = await client.ContractTokensAsync(contracts[i], Model, ct);
            if (counted != expected[customers[i]])
            {
                wrong.Add(F($"{contracts[i]} counted {counted.Input:N0}/{counted.Output:N0} input/output tokens, sent {expected[customers[i]].Input:N0}/{expected[customers[i]].Output:N0}"));
            }
        }

        if (wrong.Count > 0)
        {
            ok = false;
            error.WriteLine($"error: the contracts' totals differ from what was sent: {string.Join("; ", wrong)}");
        }
        else
        {
            output.WriteLine(F($"[load] checked: the {contracts.Length} contract{(contracts.Length == 1 ? "" : "s")} counted exactly the tokens of the {result.Batches:N0} batches answered 200"));
        }

        if (load.HistoryDays > 0)
        {
            await TimeViewsAsync(client, contracts[0], load.Views, ct);
        }

        // The Prometheus endpoint caches its answer for a moment: wait it out so the count is current.
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        var after = await client.StateWritesAsync(BucketStateName, ct);
        if (after is not null)
        {
            // Each batch touches one day bucket per customer it carries events of: these are the records group commit folds into writes.
            // Only a server that keeps buckets as Orleans grain state (builds before their own store) reports these writes.
            var records = (long)result.Batches * Math.Min(load.Customers, load.BatchSize);
            var writes = after.Minus(before);
            if (writes.Writes > 0)
            {
                output.WriteLine(F($"[load] {client.Server}metrics: {writes.Writes:N0} usage-bucket state writes for {records:N0} batch-to-bucket records ({(double)records / writes.Writes:0.0} a write), {result.Accepted / (double)writes.Writes:N0} events a write, mean {writes.TotalMilliseconds / writes.Writes:0.0} ms a write"));
            }
        }

        return (result, ok);
    }

    /// <summary>
    /// Reads the contract's view <paramref name="views"/> + 1 times, one after another: the first on its own (cold after a
    /// restart), then the rest; after one read of the price list, so the first is not this process's first request.
    /// </summary>
    private async Task TimeViewsAsync(UsageLoadClient client, string contractId, int views, CancellationToken ct)
    {
        await client.WarmAsync(ct);
        var first = await client.TimeContractViewAsync(contractId, ct);
        var times = new List<TimeSpan>();
        for (var i = 0; i < views; i++)
        {
            times.Add(await client.TimeContractViewAsync(contractId, ct));
        }

        var latency = LatencySummary.From(times);
        output.WriteLine(F($"[result] contract view of {contractId}: first read {Ms(first)}; then {views} reads p50 {Ms(latency.P50)}, max {Ms(latency.Max)}"));
    }

    private static string Ms(TimeSpan t) => F($"{t.TotalMilliseconds:0.0} ms");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
