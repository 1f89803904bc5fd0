using System.Diagnostics.CodeAnalysis;
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

    /// <summary>The options only <c>load-usage</c> takes.</summary>
    public static readonly HashSet<string> Names = ["--batches", "--batch-size", "--concurrency", "--customers", "--postgres", "--baseline-writes", "--grain-writes", "--history-days", "--views", "--view-contract"];

    private static readonly HashSet<string> Allowed = [.. Names, "--server", "--token"];

    /// <summary>Parses <c>load-usage</c>'s arguments (<paramref name="args"/>[0] is the command).</summary>
    public static bool TryParse(
        IReadOnlyList<string> args,
        Func<string, string?> getEnvironmentVariable,
        [NotNullWhen(true)] out SimulatorOptions? options,
        [NotNullWhen(false)] out string? error)
    {
        options = null;
        if (!SimulatorOptions.TryCollect(
                args,
                Allowed.Contains,
                name => name is "--nodes" or "--chaos-seconds" or "--seconds" or "--seed" or "--port" or "--data-dir" or "--no-traffic" || Simulation.SimulateOptions.Names.Contains(name)
                    ? $"{name} is not an option of load-usage"
                    : null,
                out var values,
                out error))
        {
            return false;
        }

        int batches = DefaultBatches, batchSize = DefaultBatchSize, concurrency = DefaultConcurrency, customers = DefaultCustomers, baselineWrites = DefaultBaselineWrites, grainWrites = 0;
        int historyDays = DefaultHistoryDays, views = DefaultViews;
        error = SimulatorOptions.ParseInt(values, "--batches", 1, 1_000_000, ref batches)
            ?? SimulatorOptions.ParseInt(values, "--batch-size", 1, MaxBatchSize, ref batchSize)
            ?? SimulatorOptions.ParseInt(values, "--concurrency", 1, MaxConcurrency, ref concurrency)
            ?? SimulatorOptions.ParseInt(values, "--customers", 1, MaxCustomers, ref customers)
            ?? SimulatorOptions.ParseInt(values, "--baseline-writes", 1, 100_000_000, ref baselineWrites)
            ?? SimulatorOptions.ParseInt(values, "--grain-writes", 0, 100_000_000, ref grainWrites)
            ?? SimulatorOptions.ParseInt(values, "--history-days", 0, 365, ref historyDays)
            ?? SimulatorOptions.ParseInt(values, "--views", 1, 10_000, ref views);
        if (error is not null)
        {
            return false;
        }

        var postgres = values.GetValueOrDefault("--postgres");
        if (postgres is not null && postgres.Trim().Length == 0)
        {
            error = "--postgres must not be empty";
            return false;
        }

        var viewContract = values.GetValueOrDefault("--view-contract");
        if (viewContract is not null && viewContract.Trim().Length == 0)
        {
            error = "--view-contract must not be empty";
            return false;
        }

        if (grainWrites > 0 && SimulatorOptions.Fallback(values.GetValueOrDefault("--server"), SimulatorOptions.ServerVariable, getEnvironmentVariable) is null)
        {
            error = "--grain-writes needs --server: the grain-state writes go through the server's baseline endpoint";
            return false;
        }

        Uri? server = null;
        string? token = null;
        var serverGiven = SimulatorOptions.Fallback(values.GetValueOrDefault("--server"), SimulatorOptions.ServerVariable, getEnvironmentVariable) is not null;
        if (serverGiven || postgres is null)
        {
            // Without a server only the baseline runs; with neither there is nothing to do.
            error = SimulatorOptions.ParseServer("load-usage", values, getEnvironmentVariable, out server, out token);
            if (error is not null)
            {
                return false;
            }
        }

        options = SimulatorOptions.ForCommand(SimulatorCommand.LoadUsage, server, token) with
        {
            Load = new LoadUsageOptions(batches, batchSize, concurrency, customers, postgres, baselineWrites, grainWrites, historyDays, views, viewContract),
        };
        return true;
    }
}
