using System.Diagnostics;
using System.Globalization;
using ControlPlane.Domain.Deployments;
using ControlPlane.Simulator.Cli;

namespace ControlPlane.Simulator.Simulation;

/// <summary>
/// <c>simulate</c>: runs a fleet file and traces through the discrete-event simulator under the chosen policies,
/// writes the JSON report (and the SVG plot), and prints the policies side by side. Exit code 0, or 1 when the
/// inputs are not valid (the reason on stderr).
/// </summary>
internal sealed class SimulateCommand(SimulatorOptions options, TextWriter output, TextWriter error)
{
    public Task<int> RunAsync(CancellationToken stopping)
    {
        var simulate = options.Simulate ?? throw new ArgumentException("simulate needs its options", nameof(options));
        try
        {
            var fleet = FleetFileLoader.Load(simulate.FleetPath);
            var traces = simulate.TracePaths.Select(TraceReader.Read).ToArray();
            output.WriteLine(F($"[simulate] {fleet.Name}: {fleet.NodeCount:N0} nodes, {fleet.GpuCount:N0} GPUs, {fleet.Deployments.Count} deployments; {simulate.Hours:0.##} h in {simulate.StepSeconds} s steps, seed {simulate.Seed}"));
            var report = Simulate(
                fleet,
                simulate.FleetPath,
                traces,
                simulate.Policies.Select(SimulationPolicy.Parse).ToArray(),
                new SimulationSettings(simulate.Hours, simulate.StepSeconds, simulate.Seed),
                stopping,
                policy => output.WriteLine(F($"[simulate] {policy.Key}: {policy.Value.WallSeconds:0.0} s")));

            Write(simulate.ReportJsonPath, report.ToJson());
            output.WriteLine($"[simulate] report: {simulate.ReportJsonPath}");
            if (simulate.PlotPath is { } plot)
            {
                Write(plot, SvgPlot.Render(
                    F($"{fleet.Name}: {fleet.GpuCount:N0} GPUs, {report.SimulatedHours:0.##} h"),
                    fleet.GpuCount,
                    report.Policies.Select(p => (p.Key, p.Value)).ToArray()));
                output.WriteLine($"[simulate] plot: {plot}");
            }

            output.WriteLine();
            output.Write(ReportTable.Render(report));
            return Task.FromResult(0);
        }
        catch (FleetFileException e)
        {
            error.WriteLine($"error: {e.Message}");
        }
        catch (TraceFormatException e)
        {
            error.WriteLine($"error: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {e.Message}");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            output.WriteLine("[simulate] stopped");
        }

        return Task.FromResult(1);
    }

    /// <summary>Runs every policy over the same fleet, traces and failures, and gathers the report.</summary>
    internal static SimulationReport Simulate(
        FleetFile fleet,
        string fleetFile,
        IReadOnlyList<Trace> traces,
        IReadOnlyList<SimulationPolicy> policies,
        SimulationSettings settings,
        CancellationToken cancellationToken = default,
        Action<KeyValuePair<string, PolicyReport>>? ran = null,
        Action<SimulationStep>? observe = null)
    {
        var clock = Stopwatch.StartNew();
        var simulation = new FleetSimulation(fleet, traces, settings);
        var results = new Dictionary<string, PolicyReport>(StringComparer.Ordinal);
        foreach (var policy in policies)
        {
            results[policy.Name] = simulation.Run(policy, observe, cancellationToken);
            ran?.Invoke(new KeyValuePair<string, PolicyReport>(policy.Name, results[policy.Name]));
        }

        var specs = fleet.Deployments.Select(d => d.Spec).ToArray();
        return new SimulationReport(
            new FleetReport(
                fleet.Name,
                fleetFile,
                fleet.NodeCount,
                fleet.GpuCount,
                fleet.Regions,
                fleet.NodeGroups.Select(g => g.Sku).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
                fleet.HourlyCostUsd,
                specs.Where(s => s.Class == DeploymentClass.Dedicated).Sum(s => s.ReservedReplicas * s.GpusPerReplica),
                specs.Count(s => s.Class == DeploymentClass.Dedicated),
                specs.Count(s => s.Class == DeploymentClass.Serverless),
                specs.FirstOrDefault(s => s.Class == DeploymentClass.Batch)?.DeploymentId,
                fleet.Failures.PerNodeDay,
                fleet.Failures.RepairTime.TotalMinutes),
            traces.Select(t => new TraceReport(t.Name, t.Source, t.Rows, t.FirstTimestamp, Math.Round(t.DurationSeconds, 3), Math.Round(t.MeanTokensPerSecond, 3))).ToArray(),
            (double)settings.Steps * settings.StepSeconds / 3600,
            settings.StepSeconds,
            settings.Seed,
            Math.Round(clock.Elapsed.TotalSeconds, 3),
            results);
    }

    private static void Write(string path, string text)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(path, text);
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
