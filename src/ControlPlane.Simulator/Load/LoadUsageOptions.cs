using System.CommandLine;
using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Load;

/// <summary>What <c>load-usage</c> was told, beyond the server and token.</summary>
/// <param name="Batches">Batches to send.</param>
/// <param name="BatchSize">Events a batch.</param>
/// <param name="Concurrency">Batches in flight at once (also the baseline's connections).</param>
/// <param name="Customers">Customers, one contract each, the events are spread over.</param>
/// <param name="PostgresConnectionString">Where to measure the UPSERT baseline; null: no baseline.</param>
/// <param name="BaselineWrites">UPSERTs the baseline makes.</param>
/// <param name="GrainWrites">Grain-state writes the server's baseline endpoint makes before the load; 0: none.</param>
/// <param name="HistoryDays">Days before today each customer has usage on (one small batch a day, before the load), so
/// that its contract's current quarter holds that many days plus today; 0: none, and the contract starts on the first of
/// yesterday's month.</param>
/// <param name="Views">Times the contract view is read after the load (and with <paramref name="ViewContract"/>).</param>
/// <param name="ViewContract">Only time the view of this existing contract (after a restart: a cold read); no load.</param>
internal sealed record LoadUsageOptions(
    int Batches,
    int BatchSize,
    int Concurrency,
    int Customers,
    string? PostgresConnectionString,
    int BaselineWrites,
    int GrainWrites = 0,
    int HistoryDays = LoadUsageOptions.DefaultHistoryDays,
    int Views = LoadUsageOptions.DefaultViews,
    string? ViewContract = null)
{
    /// <summary>89 days before today and today: a 90-day quarter.</summary>
    public const int DefaultHistoryDays = 89;
    public const int DefaultViews = 20;

    public const int DefaultBatches = 200;
    public const int DefaultBatchSize = 1_000;
    public const int DefaultConcurrency = 8;
    public const int DefaultCustomers = 4;
    public const int DefaultBaselineWrites = 20_000;

    /// <summary>The server's limit (<c>MeteringValidation.MaxEventsPerBatch</c>).</summary>
    public const int MaxBatchSize = 10_000;

    public const int MaxConcurrency = 256;
    public const int MaxCustomers = 1_000;

    /// <summary><c>load-usage</c>: usage batches to a running control plane as fast as it takes them, and the baselines.</summary>
    public static OptionsCommand CreateCommand(Func<string, string?> getEnvironmentVariable)
    {
        var access = new ControlPlaneAccess(getEnvironmentVariable);
        var batches = SimulatorCli.Int("--batches", "N", "batches to send", DefaultBatches, 1, 1_000_000);
        var batchSize = SimulatorCli.Int("--batch-size", "N", "events a batch", DefaultBatchSize, 1, MaxBatchSize);
        var concurrency = SimulatorCli.Int("--concurrency", "N", "batches in flight at once", DefaultConcurrency, 1, MaxConcurrency);
        var customers = SimulatorCli.Int("--customers", "N", "customers (one contract each) the events are spread over", DefaultCustomers, 1, MaxCustomers);
        var postgres = SimulatorCli.Text(
            "--postgres",
            "CS",
            "also measure the baseline: single-row UPSERTs/s (one transaction each, a row the size of a small grain state) against this PostgreSQL database, i.e. plain grain-state writes/s; with no --server, only the baseline runs");
        var baselineWrites = SimulatorCli.Int("--baseline-writes", "N", "UPSERTs the baseline makes", DefaultBaselineWrites, 1, 100_000_000);
        var grainWrites = SimulatorCli.Int(
            "--grain-writes", "N", "also measure plain grain-state writes/s through the server's baseline endpoint (needs Diagnostics__LoadBaselines=true on the server; 0: off)", 0, 0, 100_000_000);
        var historyDays = SimulatorCli.Int(
            "--history-days",
            "N",
            "before the load, one small batch for each of the N days before today, and contracts that start N days ago, so each contract's quarter holds N + 1 days of usage; the contract view is timed after the load (the default: a 90-day quarter; 0: none)",
            DefaultHistoryDays,
            0,
            365);
        var views = SimulatorCli.Int("--views", "N", "times the contract view is read after the load", DefaultViews, 1, 10_000);
        var viewContract = SimulatorCli.Text("--view-contract", "ID", "no load: only time the view of this contract (after a server restart: a cold read)");
        var command = new OptionsCommand(
            "load-usage",
            """
            Benchmark usage ingestion: set a price, open a contract per customer, issue a gateway token, send batches of new
            events through POST /gateway/v1/usage and print events/s, batches/s and batch latency; with --postgres also the
            baseline.
            """,
            parse =>
            {
                var connectionString = parse.GetValue(postgres);
                var writes = parse.GetValue(grainWrites);
                if (writes > 0 && !access.HasServer(parse))
                {
                    return (null, "--grain-writes needs --server: the grain-state writes go through the server's baseline endpoint");
                }

                Uri? server = null;
                string? token = null;

                // Without a server only the baseline runs; with neither there is nothing to do.
                if ((access.HasServer(parse) || connectionString is null) && access.Resolve("load-usage", parse, out server, out token) is { } why)
                {
                    return (null, why);
                }

                return (SimulatorOptions.ForCommand(SimulatorCommand.LoadUsage, server, token) with
                {
                    Load = new LoadUsageOptions(
                        parse.GetValue(batches),
                        parse.GetValue(batchSize),
                        parse.GetValue(concurrency),
                        parse.GetValue(customers),
                        connectionString,
                        parse.GetValue(baselineWrites),
                        writes,
                        parse.GetValue(historyDays),
                        parse.GetValue(views),
                        parse.GetValue(viewContract)),
                }, null);
            })
        {
            access.Server, access.Token, batches, batchSize, concurrency, customers, postgres, baselineWrites, grainWrites, historyDays, views, viewContract,
        };
        return command;
    }
}
