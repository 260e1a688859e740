// A QuickFIX (C++, Debian's libquickfix-dev) FIX 4.4 initiator driven over stdin/stdout, so the
// gateway's interop tests run against a real FIX engine on any Debian machine in seconds (the
// Python binding builds from source for ~15 minutes and has no wheel for CPython 3.13).
//
//   qfinitiator <config file> <username> <password>
//
// stdin, one command a line:  SEND 35=D|11=ORD1|55=02528|...   (header MsgType plus body fields)
//                             QUIT
// stdout, one event a line:   LOGON | LOGOUT | APP <message> | ADMIN <message> | SENT | ERROR <text>
// (a <message> is the FIX string with SOH shown as '|'; the gateway never writes '|' in a value
// that these tests read, and never a control character, so one message is one line).
#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/NullStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>

#include <iostream>
#include <mutex>
#include <sstream>
#include <string>

namespace {

std::mutex out_lock;

void emit(const std::string& line) {
  std::lock_guard<std::mutex> guard(out_lock);
  std::cout << line << std::endl;
}

std::string shown(const FIX::Message& message) {
  std::string text = message.toString();
  for (char& c : text) {
    if (c == '\x01') c = '|';
  }
  return text;
}

class Initiator : public FIX::Application {
 public:
  Initiator(std::string username, std::string password) : username_(std::move(username)), password_(std::move(password)) {}

  FIX::SessionID session;

  void onCreate(const FIX::SessionID& id) override { session = id; }
  void onLogon(const FIX::SessionID&) override { emit("LOGON"); }
  void onLogout(const FIX::SessionID&) override { emit("LOGOUT"); }
  void toAdmin(FIX::Message& message, const FIX::SessionID&) override {
    FIX::MsgType type;
    message.getHeader().getField(type);
    if (type.getValue() == FIX::MsgType_Logon) {
      message.setField(553, username_);
      message.setField(554, password_);
    }
  }
  // QuickFIX 1.15's callbacks carry C++98 exception specifications: compiled as C++14
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message& message, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override {
    emit("ADMIN " + shown(message));
  }
  void fromApp(const FIX::Message& message, const FIX::SessionID&)
      throw(FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override {
    emit("APP " + shown(message));
  }

 private:
  std::string username_, password_;
};

// "35=D|11=X|55=02528" -> a message with MsgType D in its header and the rest in its body.
bool build(const std::string& spec, FIX::Message& message, std::string& error) {
  std::stringstream fields(spec);
  std::string item;
  bool typed = false;
  while (std::getline(fields, item, '|')) {
    std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "field without tag=value: " + item;
      return false;
    }
    int tag = std::stoi(item.substr(0, eq));
    std::string value = item.substr(eq + 1);
    if (tag == 35) {
      message.getHeader().setField(FIX::MsgType(value));
      typed = true;
    } else {
      message.setField(tag, value);
    }
  }
  if (!typed) error = "no MsgType (35)";
  return typed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: qfinitiator <config file> <username> <password>" << std::endl;
    return 2;
  }
  try {
    FIX::SessionSettings settings(argv[1]);
    Initiator app(argv[2], argv[3]);
    FIX::FileStoreFactory store(settings);
    FIX::SocketInitiator initiator(app, store, settings);
    initiator.start();
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "QUIT") break;
      if (line.rfind("SEND ", 0) != 0) {
        emit("ERROR unknown command: " + line);
        continue;
      }
      FIX::Message message;
      std::string error;
      if (!build(line.substr(5), message, error)) {
        emit("ERROR " + error);
        continue;
      }
      try {
        FIX::Session::sendToTarget(message, app.session);
        emit("SENT");
      } catch (const std::exception& exc) {
        emit(std::string("ERROR ") + exc.what());
      }
    }
    initiator.stop();
  } catch (const std::exception& exc) {
    emit(std::string("ERROR ") + exc.what());
    return 1;
  }
  return 0;
}
