# Evaluate a Vagrantfile without Vagrant and print, as JSON, every setting and provisioner it
# declares: [{"call": "config.vm.provision", "args": ["file"], "kwargs": {...}}, ...].
# Usage: ruby vagrantfile_probe.rb PATH/TO/Vagrantfile
require "json"

# Stands in for Vagrant's config objects: accepts any call, records it, and hands blocks
# (provider settings) a recorder of their own.
class Recorder
  def initialize(path, log)
    @path = path
    @log = log
  end

  def method_missing(name, *args, **kwargs, &block)
    path = "#{@path}.#{name}"
    @log << { "call" => path, "args" => args, "kwargs" => kwargs }
    child = Recorder.new(path, @log)
    block&.call(child, child)
    child
  end

  def respond_to_missing?(_name, _include_private = false)
    true
  end
end

module Vagrant
  LOG = []

  def self.configure(version)
    LOG << { "call" => "Vagrant.configure", "args" => [version], "kwargs" => {} }
    yield Recorder.new("config", LOG)
  end
end

load ARGV.fetch(0)
puts JSON.generate(Vagrant::LOG)
