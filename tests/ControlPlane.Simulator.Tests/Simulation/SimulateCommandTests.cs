using System.Text.Json;
using ControlPlane.Simulator.Cli;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Tests.Simulation;

public sealed class SimulateCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("controlplane-simulate-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        Assert.True(SimulatorCli.TryParse(["simulate", .. args], _ => null, out var options, out var parseError), parseError);
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await new SimulateCommand(options, output, error).RunAsync(TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task RunAsync_ShippedSmallFleet_WritesTheReportThePlotAndTheTable()
    {
        var report = Path.Combine(_directory, "out", "report.json");
        var plot = Path.Combine(_directory, "out", "plot.svg");

        var (exitCode, output, error) = await RunAsync(
            "--fleet", SimulationInputs.SmallFleetPath, "--trace", SimulationInputs.TracePath, "--hours", "2", "--report-json", report, "--plot", plot);

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        using var document = JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal(["liquid", "static", "oracle"], document.RootElement.GetProperty("policies").EnumerateObject().Select(p => p.Name));
        var svg = File.ReadAllText(plot);
        Assert.StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"", svg);
        Assert.Contains("liquid: utilization", svg);
        Assert.Contains("static: utilization", svg);
        Assert.Contains("fleet-small: 6 nodes, 48 GPUs; 2 h simulated in 60 s steps, seed 1", output);
        Assert.Contains("utilization", output);
        Assert.Contains("dedicated tokens served of due", output);
        Assert.Contains("SLO forgiving load-time waits", output);
        Assert.Contains("liquid to oracle:", output);
    }

    [Fact]
    public async Task RunAsync_OnePolicy_ReportsOnlyIt()
    {
        var report = Path.Combine(_directory, "report.json");

        var (exitCode, _, _) = await RunAsync(
            "--fleet", SimulationInputs.SmallFleetPath, "--trace", SimulationInputs.TracePath, "--hours", "1", "--policy", "static", "--report-json", report);

        Assert.Equal(0, exitCode);
        using var document = JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal(["static"], document.RootElement.GetProperty("policies").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task RunAsync_InvalidFleetFile_ExitsOneWithTheReason()
    {
        var fleet = Path.Combine(_directory, "fleet.json");
        File.WriteAllText(fleet, """{ "regions": [] }""");

        var (exitCode, _, error) = await RunAsync("--fleet", fleet, "--trace", SimulationInputs.TracePath, "--report-json", Path.Combine(_directory, "r.json"));

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"error: {fleet} is not a valid fleet file:", error);
        Assert.Contains("regions: is required: a list of region ids", error);
        Assert.False(File.Exists(Path.Combine(_directory, "r.json")));
    }

    [Fact]
    public async Task RunAsync_DeploymentNamesATraceNotGiven_ExitsOneNamingIt()
    {
        var fleet = Path.Combine(_directory, "fleet.json");
        File.WriteAllText(fleet, File.ReadAllText(SimulationInputs.SmallFleetPath).Replace("\"rateScale\": 1.5", "\"trace\": \"other\", \"rateScale\": 1.5"));

        var (exitCode, _, error) = await RunAsync("--fleet", fleet, "--trace", SimulationInputs.TracePath, "--report-json", Path.Combine(_directory, "r.json"));

        Assert.Equal(1, exitCode);
        Assert.Contains("chat.traffic.trace: no --trace is named 'other' (given: azure-llm-2023-conv)", error);
    }
}
