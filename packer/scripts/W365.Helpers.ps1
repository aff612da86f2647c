<#
.SYNOPSIS
    Shared helpers for the w365-image guest scripts. Uploaded to the build VM and dot-sourced.

.DESCRIPTION
    The one place that downloads files (retried, then checked by Authenticode signature before
    anything runs them), runs native commands (exit codes always checked) and reads switches
    passed by Packer as environment variables. Every failure throws: nothing is swallowed.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Write-W365Log {
    param([Parameter(Mandatory)] [string] $Message)
    $stamp = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ')
    Write-Host "[w365 $stamp] $Message"
}

function Get-W365Setting {
    <# Reads an environment variable set by the Packer provisioner; throws when it is missing. #>
    param(
        [Parameter(Mandatory)] [string] $Name,
        [switch] $AllowEmpty
    )
    $value = [Environment]::GetEnvironmentVariable($Name, 'Process')
    if ($null -eq $value) {
        throw "Environment variable $Name is not set: run this script through the Packer template."
    }
    if (-not $AllowEmpty -and $value -eq '') {
        throw "Environment variable $Name is empty."
    }
    return $value
}

function Test-W365Enabled {
    <# Parses a boolean switch ("true"/"false") passed by Packer; anything else is an error. #>
    param([Parameter(Mandatory)] [string] $Name)
    $value = (Get-W365Setting -Name $Name).Trim().ToLowerInvariant()
    switch ($value) {
        'true' { return $true }
        'false' { return $false }
        default { throw "Environment variable $Name must be 'true' or 'false', got '$value'." }
    }
}

function Get-W365WorkDirectory {
    $dir = Get-W365Setting -Name 'W365_BUILD_DIR'
    if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
    }
    return $dir
}

function Invoke-W365Native {
    <#
        Runs a console program with the call operator and checks $LASTEXITCODE.
        Returns the program's standard output lines; standard error goes to the build log.
    #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $AllowedExitCodes = @(0)
    )
    Write-W365Log "Running: $FilePath $($ArgumentList -join ' ')"
    $output = & $FilePath @ArgumentList
    $exitCode = $LASTEXITCODE
    if ($AllowedExitCodes -notcontains $exitCode) {
        $text = ($output | Out-String).Trim()
        throw "$FilePath exited with code $exitCode (allowed: $($AllowedExitCodes -join ', ')). Output: $text"
    }
    return @($output)
}

function Invoke-W365Process {
    <#
        Runs a windowed installer (msiexec, setup bootstrappers) to completion and checks its
        exit code. Use Invoke-W365Native for console programs.
    #>
    param(
        [Parameter(Mandatory)] [string] $FilePath,
        [string[]] $ArgumentList = @(),
        [int[]] $AllowedExitCodes = @(0)
    )
    Write-W365Log "Starting: $FilePath $($ArgumentList -join ' ')"
    $process = Start-Process -FilePath $FilePath -ArgumentList $ArgumentList -Wait -PassThru -NoNewWindow
    $exitCode = $process.ExitCode
    if ($AllowedExitCodes -notcontains $exitCode) {
        throw "$FilePath exited with code $exitCode (allowed: $($AllowedExitCodes -join ', '))."
    }
    Write-W365Log "$FilePath exited with code $exitCode."
    return $exitCode
}

function Assert-W365MicrosoftSignature {
    <# Throws unless the file carries a valid Authenticode signature whose signer is Microsoft. #>
    param([Parameter(Mandatory)] [string] $Path)
    $signature = Get-AuthenticodeSignature -FilePath $Path
    if ($signature.Status -ne 'Valid') {
        throw "Signature of $Path is not valid: $($signature.Status) ($($signature.StatusMessage))."
    }
    $subject = $signature.SignerCertificate.Subject
    if ($subject -notmatch '^CN=Microsoft Corporation,' -or $subject -notmatch '(^|, )O=Microsoft Corporation(,|$)') {
        throw "Signer of $Path is not Microsoft: $subject"
    }
    Write-W365Log "Signature of $(Split-Path -Leaf $Path) is valid, signer: $subject"
}

function Invoke-W365VerifiedDownload {
    <#
        Downloads a file with retries and exponential back-off, then checks its Authenticode
        signature (Status Valid, signer Microsoft) before returning its path. Nothing downloaded
        is ever run without passing through here.
    #>
    param(
        [Parameter(Mandatory)] [string] $Uri,
        [Parameter(Mandatory)] [string] $FileName,
        [int] $Attempts = 5
    )
    $destination = Join-Path (Get-W365WorkDirectory) $FileName
    for ($attempt = 1; $attempt -le $Attempts; $attempt++) {
        try {
            Write-W365Log "Downloading $Uri (attempt $attempt of $Attempts)"
            Invoke-WebRequest -Uri $Uri -OutFile $destination -UseBasicParsing -TimeoutSec 600
            $length = (Get-Item -LiteralPath $destination).Length
            if ($length -le 0) {
                throw "Downloaded file $destination is empty."
            }
            break
        }
        catch {
            if ($attempt -ge $Attempts) {
                throw "Download of $Uri failed after $Attempts attempts: $($_.Exception.Message)"
            }
            $delay = [Math]::Min(120, 5 * [Math]::Pow(2, $attempt - 1))
            Write-W365Log "Download failed: $($_.Exception.Message). Retrying in $delay s."
            Start-Sleep -Seconds $delay
        }
    }
    Assert-W365MicrosoftSignature -Path $destination
    return $destination
}

function Get-W365RegistryKeyWithValue {
    <# Returns the registry key when it holds the named value, else $null. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    if (-not (Test-Path -LiteralPath $Path)) {
        return $null
    }
    $key = Get-Item -LiteralPath $Path
    if ($key.GetValueNames() -notcontains $Name) {
        return $null
    }
    return $key
}

function Get-W365RegistryValue {
    <# Returns a registry value, or $null when the key or the value does not exist. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    $key = Get-W365RegistryKeyWithValue -Path $Path -Name $Name
    if ($null -eq $key) {
        return $null
    }
    return $key.GetValue($Name, $null, 'DoNotExpandEnvironmentNames')
}

function Get-W365RegistryValueKind {
    <# Returns the registry value kind (DWord, String, ...) or $null when it does not exist. #>
    param(
        [Parameter(Mandatory)] [string] $Path,
        [Parameter(Mandatory)] [string] $Name
    )
    $key = Get-W365RegistryKeyWithValue -Path $Path -Name $Name
    if ($null -eq $key) {
        return $null
    }
    return $key.GetValueKind($Name).ToString()
}

function Get-W365UnattendPaths {
    <#
        Answer files and Panther folders that must not survive into the image. The facts script
        reports them and the sysprep script deletes them: one list for both.
    #>
    $windows = $env:SystemRoot
    return @(
        (Join-Path $windows 'Panther\Unattend.xml'),
        (Join-Path $windows 'Panther\Unattend\Unattend.xml'),
        (Join-Path $windows 'Panther\Autounattend.xml'),
        (Join-Path $windows 'System32\Sysprep\Unattend.xml'),
        (Join-Path $windows 'System32\Sysprep\Autounattend.xml'),
        (Join-Path $env:SystemDrive 'Unattend.xml'),
        (Join-Path $env:SystemDrive 'Autounattend.xml')
    )
}

function Get-W365InstalledProducts {
    <# Uninstall entries (64- and 32-bit views) whose DisplayName matches a wildcard pattern. #>
    param([Parameter(Mandatory)] [string] $DisplayNamePattern)
    $roots = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    $found = New-Object System.Collections.Generic.List[object]
    foreach ($root in $roots) {
        if (-not (Test-Path -LiteralPath $root)) {
            continue
        }
        foreach ($key in Get-ChildItem -LiteralPath $root) {
            $name = $key.GetValue('DisplayName', $null)
            if ($null -ne $name -and $name -like $DisplayNamePattern) {
                $found.Add([pscustomobject]@{
                        displayName    = [string] $name
                        displayVersion = [string] $key.GetValue('DisplayVersion', '')
                    })
            }
        }
    }
    return $found.ToArray()
}
