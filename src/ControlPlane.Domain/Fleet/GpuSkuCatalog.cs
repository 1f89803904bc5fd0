using System.Text;
using System.Text.RegularExpressions;

namespace ControlPlane.Domain.Fleet;

/// <summary>One normalised GPU product: what placement and pricing talk about instead of marketing names.</summary>
/// <param name="Id">Stable id such as <c>h100-sxm-80gb</c>.</param>
/// <param name="DisplayName">Human name.</param>
/// <param name="Generation">Architecture, for operators' views.</param>
public sealed record GpuSku(string Id, string DisplayName, string Generation);

/// <summary>
/// Maps what <c>nvidia-smi</c> reports (product name and total memory) to a normalised SKU id.
/// The same product reports slightly different names across drivers and form factors, and some names
/// (e.g. "NVIDIA H200") carry no memory size, so a match is by name pattern and a memory window.
/// </summary>
public static partial class GpuSkuCatalog
{
    private sealed record Entry(GpuSku Sku, Regex Name, long MinMemoryMiB, long MaxMemoryMiB);

    private static readonly Entry[] Entries =
    [
        new(new("b200-180gb", "NVIDIA B200", "Blackwell"), BuildRegex(@"\bB200\b"), 170_000, 200_000),
        new(new("gh200-96gb", "NVIDIA GH200 96GB", "Hopper"), BuildRegex(@"\bGH200\b"), 90_000, 100_000),
        new(new("gh200-144gb", "NVIDIA GH200 144GB", "Hopper"), BuildRegex(@"\bGH200\b"), 135_000, 150_000),
        new(new("h200-141gb", "NVIDIA H200 141GB", "Hopper"), BuildRegex(@"\bH200\b"), 135_000, 150_000),
        new(new("h100-nvl-94gb", "NVIDIA H100 NVL", "Hopper"), BuildRegex(@"\bH100\b.*\bNVL\b"), 88_000, 100_000),
        new(new("h100-pcie-80gb", "NVIDIA H100 PCIe 80GB", "Hopper"), BuildRegex(@"\bH100\b.*\bPCIe\b"), 76_000, 86_000),
        new(new("h100-sxm-80gb", "NVIDIA H100 SXM 80GB", "Hopper"), BuildRegex(@"\bH100\b"), 76_000, 86_000),
        new(new("h800-80gb", "NVIDIA H800 80GB", "Hopper"), BuildRegex(@"\bH800\b"), 76_000, 86_000),
        new(new("a100-80gb", "NVIDIA A100 80GB", "Ampere"), BuildRegex(@"\bA100\b"), 76_000, 86_000),
        new(new("a100-40gb", "NVIDIA A100 40GB", "Ampere"), BuildRegex(@"\bA100\b"), 38_000, 42_000),
        new(new("l40s-48gb", "NVIDIA L40S", "Ada Lovelace"), BuildRegex(@"\bL40S\b"), 44_000, 50_000),
        new(new("l40-48gb", "NVIDIA L40", "Ada Lovelace"), BuildRegex(@"\bL40\b"), 44_000, 50_000),
        new(new("l4-24gb", "NVIDIA L4", "Ada Lovelace"), BuildRegex(@"\bL4\b"), 21_000, 25_000),
        new(new("a10g-24gb", "NVIDIA A10G", "Ampere"), BuildRegex(@"\bA10G\b"), 21_000, 25_000),
        new(new("a10-24gb", "NVIDIA A10", "Ampere"), BuildRegex(@"\bA10\b"), 21_000, 25_000),
    ];

    /// <summary>The SKUs the catalogue knows by name.</summary>
    public static IReadOnlyList<GpuSku> Known { get; } = Entries.Select(e => e.Sku).ToArray();

    /// <summary>
    /// The SKU id for a GPU. Products the catalogue does not know get a deterministic id built from
    /// the name and the memory rounded to GiB (<c>other-&lt;slug&gt;-&lt;n&gt;gb</c>), so they still
    /// group and can be placed by memory, and operators can see what to add here.
    /// </summary>
    public static string Resolve(string gpuName, long memoryTotalMiB)
    {
        foreach (var entry in Entries)
        {
            if (memoryTotalMiB >= entry.MinMemoryMiB && memoryTotalMiB <= entry.MaxMemoryMiB && entry.Name.IsMatch(gpuName))
            {
                return entry.Sku.Id;
            }
        }

        return $"other-{Slug(gpuName)}-{(memoryTotalMiB + 512) / 1024}gb";
    }

    private static Regex BuildRegex(string pattern) =>
        new(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled);

    private static string Slug(string name)
    {
        var withoutVendor = VendorPrefix().Replace(name.Trim(), "");
        var builder = new StringBuilder(withoutVendor.Length);
        foreach (var c in withoutVendor.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length == 0 ? "unknown" : slug.Length > 40 ? slug[..40].TrimEnd('-') : slug;
    }

    [GeneratedRegex(@"^(nvidia|tesla)\s+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex VendorPrefix();
}
