using ControlPlane.Simulator.Simulation;
using ControlPlane.Testing;

namespace ControlPlane.Simulator.Tests.Simulation;

/// <summary>The small fleet and the trace shipped in <c>deploy/sim/</c>, read once for all tests.</summary>
internal static class SimulationInputs
{
    private static readonly Lazy<FleetFile> LazySmallFleet = new(() => FleetFileLoader.Load(SmallFleetPath));
    private static readonly Lazy<Trace> LazyTrace = new(() => TraceReader.Read(TracePath));

    public static string SmallFleetPath => RepoPaths.Combine("deploy", "sim", "fleet-small.json");

    public static string TracePath => RepoPaths.Combine("deploy", "sim", "traces", "azure-llm-2023-conv.csv");

    public static FleetFile SmallFleet => LazySmallFleet.Value;

    public static Trace AzureTrace => LazyTrace.Value;

    public static SimulationPolicy[] All => [new LiquidPolicy(), new StaticPolicy(), new OraclePolicy()];
}
