using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ControlPlane.Testing;

/// <summary>
/// A self-signed TLS certificate for 127.0.0.1 and localhost, written as PEM files (for servers such as Azurite, and
/// as the whole trust store of a child process through <c>SSL_CERT_FILE</c>). Disposal deletes the files.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private readonly string _directory;

    private TestCertificate(X509Certificate2 certificate, string directory)
    {
        Certificate = certificate;
        _directory = directory;
        CertificatePath = Path.Combine(directory, "cert.pem");
        KeyPath = Path.Combine(directory, "key.pem");
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate, PEM.</summary>
    public string CertificatePath { get; }

    /// <summary>Its private key, PEM (PKCS#8).</summary>
    public string KeyPath { get; }

    public static TestCertificate Create()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));

        var result = new TestCertificate(certificate, Directory.CreateTempSubdirectory("controlplane-tls-").FullName);
        File.WriteAllText(result.CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(result.KeyPath, key.ExportPkcs8PrivateKeyPem());
        return result;
    }

    /// <summary>A server-certificate check for an in-process client: this certificate and no other.</summary>
    public bool IsThis(X509Certificate2? presented) =>
        presented is not null && presented.RawData.AsSpan().SequenceEqual(Certificate.RawData);

    public void Dispose()
    {
        Certificate.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
